// Package messagebird is a small client for Bird's (formerly MessageBird's)
// SMS sending: the Channels API that Bird publishes now (POST
// /workspaces/{workspace}/channels/{channel}/messages on api.bird.com), and
// the legacy MessageBird REST API (POST /messages on rest.messagebird.com)
// that older accounts hold keys for. Both take "Authorization: AccessKey
// <key>". The client knows nothing of Caddy: module.go, the phone_otp
// provider module beside it, wraps it, and anything else may use the client
// on its own.
package messagebird

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// The APIs' base URLs.
const (
	ChannelsEndpoint = "https://api.bird.com"
	LegacyEndpoint   = "https://rest.messagebird.com"
)

// Error is every failure the client returns. When Bird refuses, Code
// and Message are its first error's code and text.
type Error = httpapi.Error

// NewHTTPClient returns a client with the given timeout that never
// follows redirects.
var NewHTTPClient = httpapi.NewHTTPClient

// Client sends SMS. Set its fields before first use; it is then safe for
// concurrent use.
type Client struct {
	// AccessKey is sent as "Authorization: AccessKey <AccessKey>".
	AccessKey string
	// WorkspaceID and ChannelID name the SMS channel (Channels API).
	// Both empty means the legacy REST API.
	WorkspaceID, ChannelID string
	// Endpoint is the API base URL, ChannelsEndpoint or LegacyEndpoint
	// by the API if empty.
	Endpoint string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls; one with the default timeout that does
	// not follow redirects if nil.
	HTTPClient *http.Client
}

// Legacy reports whether c uses the legacy MessageBird REST API.
func (c *Client) Legacy() bool { return c.WorkspaceID == "" && c.ChannelID == "" }

// Message is one SMS to send. Originator is the sender, required by the
// legacy API; the Channels API sends from the channel's number.
type Message struct {
	Originator string
	// To is the destination in E.164 form.
	To   string
	Text string
}

// Send sends m and returns Bird's message id.
func (c *Client) Send(ctx context.Context, m Message) (string, error) {
	const op = "send message"
	caller := httpapi.Caller{Provider: "messagebird", Version: c.Version, HTTPClient: c.HTTPClient}
	to, err := httpapi.E164(m.To)
	if err != nil {
		return "", caller.Reject(op, err)
	}
	if m.Text == "" || (c.WorkspaceID == "") != (c.ChannelID == "") || (c.Legacy() && m.Originator == "") {
		return "", caller.Reject(op, errors.New("text, and both workspace and channel or (legacy) an originator, are needed"))
	}
	header := http.Header{"Authorization": {"AccessKey " + c.AccessKey}}
	var u string
	var body any
	if c.Legacy() {
		u = httpapi.URL(c.Endpoint, LegacyEndpoint, "/messages")
		n, _ := strconv.ParseInt(to[1:], 10, 64)
		body = legacyRequest{Originator: m.Originator, Recipients: []int64{n}, Body: m.Text}
	} else {
		u = httpapi.URL(c.Endpoint, ChannelsEndpoint, "/workspaces/"+url.PathEscape(c.WorkspaceID)+"/channels/"+url.PathEscape(c.ChannelID)+"/messages")
		var r channelsRequest
		r.Receiver.Contacts = []contact{{IdentifierKey: "phonenumber", IdentifierValue: to}}
		r.Body.Type = "text"
		r.Body.Text.Text = m.Text
		body = r
	}
	var resp struct {
		ID string `json:"id"`
	}
	if err := caller.JSON(ctx, op, u, header, body, &resp, parseError); err != nil {
		return "", err
	}
	if resp.ID == "" {
		return "", caller.Lacks(op, http.StatusOK, "message id")
	}
	return resp.ID, nil
}

type contact struct {
	IdentifierKey   string `json:"identifierKey"`
	IdentifierValue string `json:"identifierValue"`
}

type channelsRequest struct {
	Receiver struct {
		Contacts []contact `json:"contacts"`
	} `json:"receiver"`
	Body struct {
		Type string `json:"type"`
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	} `json:"body"`
}

type legacyRequest struct {
	Originator string  `json:"originator"`
	Recipients []int64 `json:"recipients"`
	Body       string  `json:"body"`
}

// parseError reads Bird's error bodies: the legacy API's
// {"errors":[{"code":2,"description","parameter"}]} and the Channels
// API's {"code","message"}.
func parseError(raw []byte) (string, string) {
	var e struct {
		Errors []struct {
			Code        json.Number `json:"code"`
			Description string      `json:"description"`
			Parameter   string      `json:"parameter"`
		} `json:"errors"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return "", ""
	}
	if len(e.Errors) > 0 {
		first := e.Errors[0]
		msg := first.Description
		if first.Parameter != "" {
			msg += " (" + first.Parameter + ")"
		}
		return first.Code.String(), msg
	}
	return e.Code, e.Message
}
