// Package infobip is a small client for Infobip's SMS API v3 (POST
// /sms/3/messages). The client knows nothing of Caddy: module.go, the
// phone_otp provider module beside it, wraps it, and anything else may use
// the client on its own.
package infobip

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// Error is every failure the client returns. When Infobip refuses, Code
// and Message are its error id and text, or the message's status name
// and description.
type Error = httpapi.Error

// NewHTTPClient returns a client with the given timeout that never
// follows redirects.
var NewHTTPClient = httpapi.NewHTTPClient

// Client sends SMS. Set its fields before first use; it is then safe for
// concurrent use.
type Client struct {
	// APIKey is sent as "Authorization: App <APIKey>".
	APIKey string
	// BaseURL is the account's personal base URL, e.g.
	// https://xxxxx.api.infobip.com.
	BaseURL string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls; one with the default timeout that does
	// not follow redirects if nil.
	HTTPClient *http.Client
}

// Message is one SMS to send.
type Message struct {
	// Sender is a number or an alphanumeric sender id; Infobip's default
	// if empty.
	Sender string
	// To is the destination with country code; it is sent as digits.
	To   string
	Text string
}

type destination struct {
	To string `json:"to"`
}

type message struct {
	Sender       string        `json:"sender,omitempty"`
	Destinations []destination `json:"destinations"`
	Content      struct {
		Text string `json:"text"`
	} `json:"content"`
}

type request struct {
	Messages []message `json:"messages"`
}

// groupRejected is the status group of a message Infobip refused.
const groupRejected = 5

// response is Infobip's answer: a status per message.
type response struct {
	Messages []struct {
		MessageID string `json:"messageId"`
		Status    struct {
			GroupID     int    `json:"groupId"`
			GroupName   string `json:"groupName"`
			ID          int    `json:"id"`
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"status"`
	} `json:"messages"`
}

// Send sends m and returns Infobip's message id.
func (c *Client) Send(ctx context.Context, m Message) (string, error) {
	const op = "send message"
	caller := httpapi.Caller{Provider: "infobip", Version: c.Version, HTTPClient: c.HTTPClient}
	to, err := httpapi.Digits(m.To)
	if err != nil {
		return "", caller.Reject(op, err)
	}
	if m.Text == "" || c.BaseURL == "" {
		return "", caller.Reject(op, errors.New("base URL and text are needed"))
	}
	msg := message{Sender: m.Sender, Destinations: []destination{{To: to}}}
	msg.Content.Text = m.Text
	var resp response
	err = caller.JSON(ctx, op, httpapi.URL(c.BaseURL, "", "/sms/3/messages"),
		http.Header{"Authorization": {"App " + c.APIKey}}, request{Messages: []message{msg}}, &resp, parseError)
	if err != nil {
		return "", err
	}
	if len(resp.Messages) == 0 || resp.Messages[0].MessageID == "" {
		return "", caller.Lacks(op, http.StatusOK, "message id")
	}
	st := resp.Messages[0].Status
	if st.GroupID == groupRejected {
		// Refused in a 200 (no route, a blocked destination…): not sent.
		return "", &Error{Provider: "infobip", Op: op, Status: http.StatusOK, Code: st.Name + " (" + strconv.Itoa(st.ID) + ")",
			Message: st.Description, Refused: true}
	}
	return resp.Messages[0].MessageID, nil
}

// parseError reads Infobip's error bodies: the SMS API's
// {"requestError":{"serviceException":{"messageId","text"}}}, and the
// newer {"errorCode","description"} of its v3 APIs.
func parseError(raw []byte) (string, string) {
	var e struct {
		RequestError struct {
			ServiceException struct {
				MessageID string `json:"messageId"`
				Text      string `json:"text"`
			} `json:"serviceException"`
		} `json:"requestError"`
		ErrorCode   string `json:"errorCode"`
		Description string `json:"description"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return "", ""
	}
	if se := e.RequestError.ServiceException; se.MessageID != "" || se.Text != "" {
		return se.MessageID, se.Text
	}
	return e.ErrorCode, e.Description
}
