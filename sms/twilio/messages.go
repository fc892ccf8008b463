package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// Client sends SMS through the Messages API. Set its fields before first
// use; it is then safe for concurrent use.
type Client struct {
	// AccountSID (AC…) is the account the messages are sent from; it is
	// part of the URL whichever credentials are used.
	AccountSID string
	// Credentials authenticate every request.
	Credentials Credentials
	// Endpoint is the API base URL, DefaultEndpoint if empty.
	Endpoint string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls; one with the default timeout that
	// does not follow redirects if nil.
	HTTPClient *http.Client
}

// MessageRequest is one SMS. Exactly one of From and MessagingServiceSID
// is sent: MessagingServiceSID if set.
type MessageRequest struct {
	// To is the destination in E.164 form; a missing '+' is added.
	To   string
	From string
	// MessagingServiceSID (MG…) lets Twilio pick the sender.
	MessagingServiceSID string
	Body                string
}

// Message is the part of Twilio's Message resource the caller needs.
type Message struct {
	SID          string  `json:"sid"`
	Status       string  `json:"status"`
	ErrorCode    *int    `json:"error_code"`
	ErrorMessage *string `json:"error_message"`
}

// SendMessage sends one SMS:
// POST /2010-04-01/Accounts/{AccountSid}/Messages.json.
func (c *Client) SendMessage(ctx context.Context, r MessageRequest) (*Message, error) {
	const op = "send message"
	a := newAPI("twilio", c.Credentials, c.Endpoint, DefaultEndpoint, c.Version, c.HTTPClient)
	to, err := httpapi.E164(r.To)
	if err != nil {
		return nil, a.caller.Reject(op, err)
	}
	if c.AccountSID == "" || (r.From == "" && r.MessagingServiceSID == "") || r.Body == "" {
		return nil, a.caller.Reject(op, errors.New("account SID, sender and body are all needed"))
	}
	form := url.Values{"To": {to}, "Body": {r.Body}}
	if r.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", r.MessagingServiceSID)
	} else {
		form.Set("From", r.From)
	}
	var m Message
	path := "/2010-04-01/Accounts/" + url.PathEscape(c.AccountSID) + "/Messages.json"
	status, err := a.post(ctx, op, path, form, &m)
	if err != nil {
		return nil, err
	}
	if m.SID == "" {
		return nil, a.caller.Lacks(op, status, "message sid")
	}
	// A message Twilio took and failed at once comes back 201 with
	// status "failed" and the reason in error_code.
	if m.Status == "failed" || m.Status == "undelivered" {
		e := &Error{Provider: "twilio", Op: op, Status: status, Message: "message " + m.Status}
		if m.ErrorCode != nil {
			e.Code = fmt.Sprint(*m.ErrorCode)
		}
		if m.ErrorMessage != nil {
			e.Message += ": " + *m.ErrorMessage
		}
		return nil, e
	}
	return &m, nil
}
