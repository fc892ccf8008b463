// Package vonage is a small client for Vonage's (formerly Nexmo's) SMS API.
// The client knows nothing of Caddy: module.go, the phone_otp provider
// module beside it, wraps it, and anything else may use the client on its
// own.
package vonage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// DefaultEndpoint is the SMS API's base URL.
const DefaultEndpoint = "https://rest.nexmo.com"

// Error is every failure the client returns. When Vonage refuses a
// message, Code is its per-message status and Message its error-text.
type Error = httpapi.Error

// NewHTTPClient returns a client with the given timeout that never
// follows redirects.
var NewHTTPClient = httpapi.NewHTTPClient

// Client sends SMS. Set its fields before first use; it is then safe for
// concurrent use.
type Client struct {
	APIKey    string
	APISecret string
	// Endpoint is the API base URL, DefaultEndpoint if empty.
	Endpoint string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls; one with the default timeout that does
	// not follow redirects if nil.
	HTTPClient *http.Client
}

// Message is one SMS to send.
type Message struct {
	// From is the sender: an alphanumeric name or a number.
	From string
	// To is the destination with country code; a leading '+' is dropped,
	// as Vonage wants digits only.
	To   string
	Text string
}

// Result is Vonage's answer for a message it took: one id per part.
type Result struct {
	MessageIDs []string
}

// statusInternalError ("5") is the one refusal status that leaves open
// whether Vonage took the message.
const statusInternalError = "5"

// response is Vonage's answer: every part of the SMS has its own status,
// "0" for success, anything else with an error-text.
type response struct {
	MessageCount string `json:"message-count"`
	Messages     []struct {
		Status    string `json:"status"`
		MessageID string `json:"message-id"`
		ErrorText string `json:"error-text"`
	} `json:"messages"`
}

// Send sends m: POST /sms/json with the credentials and message as a
// form. Vonage answers 200 even when it refuses a message; the refusal
// is in the per-message status.
func (c *Client) Send(ctx context.Context, m Message) (*Result, error) {
	const op = "send sms"
	caller := httpapi.Caller{Provider: "vonage", Version: c.Version, HTTPClient: c.HTTPClient}
	to, err := httpapi.Digits(m.To)
	if err != nil {
		return nil, caller.Reject(op, err)
	}
	if m.From == "" || m.Text == "" {
		return nil, caller.Reject(op, errors.New("sender and text are both needed"))
	}
	form := url.Values{
		"api_key":    {c.APIKey},
		"api_secret": {c.APISecret},
		"from":       {m.From},
		"to":         {to},
		"text":       {m.Text},
	}
	// Outside ASCII, plain text risks characters the GSM alphabet lacks
	// turning into '?'; unicode messages arrive as written.
	if !isASCII(m.Text) {
		form.Set("type", "unicode")
	}
	req, err := httpapi.PostForm(ctx, httpapi.URL(c.Endpoint, DefaultEndpoint, "/sms/json"), form)
	if err != nil {
		return nil, caller.Reject(op, err)
	}
	status, raw, err := caller.Do(op, req)
	if err != nil {
		return nil, err
	}
	var resp response
	decodeErr := json.Unmarshal(raw, &resp)
	if !httpapi.Is2xx(status) {
		e := &Error{Provider: "vonage", Op: op, Status: status}
		if decodeErr == nil && len(resp.Messages) > 0 {
			e.Code, e.Message = resp.Messages[0].Status, resp.Messages[0].ErrorText
		}
		return nil, e
	}
	if decodeErr != nil {
		return nil, &Error{Provider: "vonage", Op: op, Status: status, Err: fmt.Errorf("decode response: %w", decodeErr)}
	}
	if len(resp.Messages) == 0 {
		return nil, caller.Lacks(op, status, "message")
	}
	// A long text goes as several parts; the code is only delivered if
	// every one of them is.
	var res Result
	for _, p := range resp.Messages {
		if p.Status != "0" {
			// Vonage refuses inside a 200. Its refusal is definite, save
			// status 5 (its internal error), or a part already taken.
			refused := p.Status != statusInternalError && len(res.MessageIDs) == 0
			return nil, &Error{Provider: "vonage", Op: op, Status: status, Code: p.Status, Message: p.ErrorText, Refused: refused}
		}
		if p.MessageID == "" {
			// Taken, but with nothing to name it by in the log: as every
			// other client, an answer that lacks the id is no success
			// (found by FuzzVonageAnswer).
			return nil, caller.Lacks(op, status, "message-id")
		}
		res.MessageIDs = append(res.MessageIDs, p.MessageID)
	}
	return &res, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
