// Package telnyx is a small client for Telnyx's Messages API v2 (POST
// /v2/messages). The client knows nothing of Caddy: module.go, the phone_otp
// provider module beside it, wraps it, and anything else may use the client
// on its own.
package telnyx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// DefaultEndpoint is the API's base URL.
const DefaultEndpoint = "https://api.telnyx.com"

// Error is every failure the client returns. When Telnyx refuses, Code
// and Message are its first error's code and title (with the detail).
type Error = httpapi.Error

// NewHTTPClient returns a client with the given timeout that never
// follows redirects.
var NewHTTPClient = httpapi.NewHTTPClient

// Client sends SMS. Set its fields before first use; it is then safe for
// concurrent use.
type Client struct {
	// APIKey is a v2 API key, sent as a bearer token.
	APIKey string
	// Endpoint is the API base URL, DefaultEndpoint if empty.
	Endpoint string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls; one with the default timeout that does
	// not follow redirects if nil.
	HTTPClient *http.Client
}

// Message is one SMS to send: from a number (or alphanumeric sender id,
// which then needs the profile), or from a number of the messaging
// profile, Telnyx's pick.
type Message struct {
	From               string
	MessagingProfileID string
	// To is the destination in E.164 form.
	To   string
	Text string
}

// request is the body of POST /v2/messages.
type request struct {
	From               string `json:"from,omitempty"`
	MessagingProfileID string `json:"messaging_profile_id,omitempty"`
	To                 string `json:"to"`
	Text               string `json:"text"`
}

// response is what Telnyx answers for a message it took.
type response struct {
	Data struct {
		ID string `json:"id"`
	} `json:"data"`
}

// Send sends m and returns Telnyx's message id.
func (c *Client) Send(ctx context.Context, m Message) (string, error) {
	const op = "send message"
	caller := httpapi.Caller{Provider: "telnyx", Version: c.Version, HTTPClient: c.HTTPClient}
	to, err := httpapi.E164(m.To)
	if err != nil {
		return "", caller.Reject(op, err)
	}
	if (m.From == "" && m.MessagingProfileID == "") || m.Text == "" {
		return "", caller.Reject(op, errors.New("a sender (from or messaging profile) and text are needed"))
	}
	var resp response
	err = caller.JSON(ctx, op, httpapi.URL(c.Endpoint, DefaultEndpoint, "/v2/messages"), httpapi.Bearer(c.APIKey),
		request{From: m.From, MessagingProfileID: m.MessagingProfileID, To: to, Text: m.Text}, &resp, parseError)
	if err != nil {
		return "", err
	}
	if resp.Data.ID == "" {
		return "", caller.Lacks(op, http.StatusOK, "message id")
	}
	return resp.Data.ID, nil
}

// parseError reads Telnyx's error body: {"errors":[{"code","title","detail"}]}.
func parseError(raw []byte) (string, string) {
	var e struct {
		Errors []struct {
			Code   string `json:"code"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(raw, &e) != nil || len(e.Errors) == 0 {
		return "", ""
	}
	first := e.Errors[0]
	msg := first.Title
	if first.Detail != "" && first.Detail != first.Title {
		msg += ": " + first.Detail
	}
	return first.Code, msg
}
