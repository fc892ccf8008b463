// Package plivo is a small client for Plivo's Message API (POST
// /v1/Account/{auth_id}/Message/). The client knows nothing of Caddy:
// module.go, the phone_otp provider module beside it, wraps it, and anything
// else may use the client on its own.
package plivo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// DefaultEndpoint is the API's base URL.
const DefaultEndpoint = "https://api.plivo.com"

// Error is every failure the client returns. When Plivo refuses, Message
// is its "error" text.
type Error = httpapi.Error

// NewHTTPClient returns a client with the given timeout that never
// follows redirects.
var NewHTTPClient = httpapi.NewHTTPClient

// Client sends SMS. Set its fields before first use; it is then safe for
// concurrent use.
type Client struct {
	// AuthID and AuthToken are the account's (or subaccount's)
	// credentials, sent as basic auth; AuthID is also in the URL.
	AuthID, AuthToken string
	// Endpoint is the API base URL, DefaultEndpoint if empty.
	Endpoint string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls; one with the default timeout that does
	// not follow redirects if nil.
	HTTPClient *http.Client
}

// Message is one SMS to send, from a number or sender id (Src) or from
// a Powerpack's pool of numbers.
type Message struct {
	Src           string
	PowerpackUUID string
	// Dst is the destination in E.164 form.
	Dst  string
	Text string
}

type request struct {
	Src           string `json:"src,omitempty"`
	PowerpackUUID string `json:"powerpack_uuid,omitempty"`
	Dst           string `json:"dst"`
	Text          string `json:"text"`
}

// response is Plivo's 202: one uuid per destination.
type response struct {
	MessageUUID []string `json:"message_uuid"`
}

// Send sends m and returns Plivo's message uuid.
func (c *Client) Send(ctx context.Context, m Message) (string, error) {
	const op = "send message"
	caller := httpapi.Caller{Provider: "plivo", Version: c.Version, HTTPClient: c.HTTPClient}
	dst, err := httpapi.E164(m.Dst)
	if err != nil {
		return "", caller.Reject(op, err)
	}
	if (m.Src == "") == (m.PowerpackUUID == "") || m.Text == "" || c.AuthID == "" {
		return "", caller.Reject(op, errors.New("auth id, text and one sender (src or powerpack) are needed"))
	}
	u := httpapi.URL(c.Endpoint, DefaultEndpoint, "/v1/Account/"+url.PathEscape(c.AuthID)+"/Message/")
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(c.AuthID, c.AuthToken)
	var resp response
	err = caller.JSON(ctx, op, u, req.Header, request{Src: m.Src, PowerpackUUID: m.PowerpackUUID, Dst: dst, Text: m.Text}, &resp, parseError)
	if err != nil {
		return "", err
	}
	if len(resp.MessageUUID) == 0 || resp.MessageUUID[0] == "" {
		return "", caller.Lacks(op, http.StatusAccepted, "message_uuid")
	}
	return resp.MessageUUID[0], nil
}

// parseError reads Plivo's error body, {"api_id","error"}, whose "error"
// is a text or, for some refusals, an object naming the field.
func parseError(raw []byte) (string, string) {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil || len(e.Error) == 0 {
		return "", ""
	}
	var s string
	if json.Unmarshal(e.Error, &s) == nil {
		return "", s
	}
	if len(e.Error) > 200 {
		return "", string(e.Error[:200]) + "…"
	}
	return "", string(e.Error)
}
