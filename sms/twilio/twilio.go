// Package twilio is a small client for Twilio's Programmable Messaging API
// (send an SMS of our own text) and Verify v2 API (Twilio makes, sends and
// checks the code). The client knows nothing of Caddy: module.go and
// verify_module.go, the phone_otp provider modules beside it, wrap it, and
// anything else may use the client on its own.
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// Default API base URLs.
const (
	DefaultEndpoint       = "https://api.twilio.com"
	DefaultVerifyEndpoint = "https://verify.twilio.com"
)

// Error is every failure the clients return. For a refusal, Code and
// Message are Twilio's `code` and `message`, with `more_info` appended.
type Error = httpapi.Error

// NewHTTPClient is re-exported so callers need not know where it lives:
// a client with the given timeout that never follows redirects.
var NewHTTPClient = httpapi.NewHTTPClient

// Credentials are the HTTP basic auth of every request: an Account SID
// and its Auth Token, or an API Key SID (SK…) and its secret.
type Credentials struct {
	Username string
	Password string
}

// api is what both clients share.
type api struct {
	creds    Credentials
	endpoint string
	caller   httpapi.Caller
}

// post sends form to endpoint+path with basic auth and decodes a 2xx
// JSON answer into out. A non-2xx answer is an *Error with Twilio's
// error code and message.
func (a api) post(ctx context.Context, op, path string, form url.Values, out any) (int, error) {
	req, err := httpapi.PostForm(ctx, httpapi.URL(a.endpoint, "", path), form)
	if err != nil {
		return 0, a.caller.Reject(op, err)
	}
	req.SetBasicAuth(a.creds.Username, a.creds.Password)
	status, raw, err := a.caller.Do(op, req)
	if err != nil {
		return status, err
	}
	if !httpapi.Is2xx(status) {
		return status, refusal(a.caller.Provider, op, status, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return status, &Error{Provider: a.caller.Provider, Op: op, Status: status, Err: fmt.Errorf("decode response: %w", err)}
	}
	return status, nil
}

// refusal reads Twilio's error body:
// {"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}.
func refusal(provider, op string, status int, raw []byte) *Error {
	e := &Error{Provider: provider, Op: op, Status: status}
	var body struct {
		Code     json.Number `json:"code"`
		Message  string      `json:"message"`
		MoreInfo string      `json:"more_info"`
	}
	if json.Unmarshal(raw, &body) == nil {
		e.Code = body.Code.String()
		e.Message = body.Message
		if body.MoreInfo != "" {
			e.Message += " (" + body.MoreInfo + ")"
		}
	}
	return e
}

// codeOf is the Twilio error code of err, 0 if it has none.
func codeOf(err error) int {
	var e *Error
	if !errors.As(err, &e) {
		return 0
	}
	n, _ := strconv.Atoi(e.Code)
	return n
}

func newAPI(provider string, creds Credentials, endpoint, def, version string, hc *http.Client) api {
	if endpoint == "" {
		endpoint = def
	}
	return api{creds: creds, endpoint: endpoint, caller: httpapi.Caller{Provider: provider, Version: version, HTTPClient: hc}}
}
