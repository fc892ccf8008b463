package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// Twilio error codes the Verify client tells apart.
const (
	// CodeNotFound: no pending verification for the number: it expired,
	// was approved already, or was cancelled.
	CodeNotFound = 20404
	// CodeMaxCheckAttempts and CodeMaxSendAttempts are Twilio's own
	// limits on one verification.
	CodeMaxCheckAttempts = 60202
	CodeMaxSendAttempts  = 60203
)

// VerifyClient starts and checks verifications with the Verify v2 API:
// Twilio makes the code, sends it and checks it. Set its fields before
// first use; it is then safe for concurrent use.
type VerifyClient struct {
	// ServiceSID (VA…) is the Verify Service, which sets the code
	// length, the message and Twilio's own limits.
	ServiceSID string
	// Credentials authenticate every request.
	Credentials Credentials
	// Endpoint is the API base URL, DefaultVerifyEndpoint if empty.
	Endpoint string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls; one with the default timeout that
	// does not follow redirects if nil.
	HTTPClient *http.Client
}

// Verification is the part of Twilio's Verification resource the
// caller needs.
type Verification struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
	// Valid is Twilio's legacy field: nullable and deprecated in its
	// OpenAPI description ("Use status instead"), so nil when absent
	// or null.
	Valid *bool `json:"valid"`
}

func (c *VerifyClient) api() api {
	return newAPI("twilio_verify", c.Credentials, c.Endpoint, DefaultVerifyEndpoint, c.Version, c.HTTPClient)
}

func (c *VerifyClient) path(tail string) string {
	return "/v2/Services/" + url.PathEscape(c.ServiceSID) + "/" + tail
}

// Channels are the Verify channels this client starts verifications on:
// a text, a voice call that speaks the code, or a WhatsApp message.
// (Verify also knows email, sna and auto, which reach no phone or need
// more than a number.)
var Channels = []string{"sms", "call", "whatsapp"}

// StartVerification has Twilio text a code to to:
// POST /v2/Services/{ServiceSid}/Verifications with To and Channel=sms.
func (c *VerifyClient) StartVerification(ctx context.Context, to string) (*Verification, error) {
	return c.Start(ctx, to, "sms")
}

// Start has Twilio send a code to to on channel, one of Channels:
// POST /v2/Services/{ServiceSid}/Verifications with To and Channel.
// For "call" Twilio's own voice reads the code.
func (c *VerifyClient) Start(ctx context.Context, to, channel string) (*Verification, error) {
	const op = "start verification"
	a := c.api()
	to, err := httpapi.E164(to)
	if err != nil {
		return nil, a.caller.Reject(op, err)
	}
	if c.ServiceSID == "" {
		return nil, a.caller.Reject(op, errors.New("no service SID"))
	}
	if !slices.Contains(Channels, channel) {
		return nil, a.caller.Reject(op, fmt.Errorf("channel %q is not one of %v", channel, Channels))
	}
	var v Verification
	status, err := a.post(ctx, op, c.path("Verifications"), url.Values{"To": {to}, "Channel": {channel}}, &v)
	if err != nil {
		return nil, err
	}
	if v.SID == "" || v.Status != "pending" {
		return nil, &Error{Provider: "twilio_verify", Op: op, Status: status,
			Err: errors.New("response is not a pending verification: status " + strconv.Quote(v.Status))}
	}
	return &v, nil
}

// CheckVerification reports whether code is the pending code for to:
// POST /v2/Services/{ServiceSid}/VerificationCheck with To and Code.
// "approved" is a match unless the legacy "valid" is explicitly false,
// "pending" a wrong code, and a 404 (20404) a code that expired or was
// used: no match either. An error means Twilio could not answer, never a
// wrong code; Twilio's own limits (429, 60202 and 60203) are errors too,
// so they are not mistaken for a wrong code.
func (c *VerifyClient) CheckVerification(ctx context.Context, to, code string) (bool, error) {
	const op = "check verification"
	a := c.api()
	to, err := httpapi.E164(to)
	if err != nil {
		return false, a.caller.Reject(op, err)
	}
	if code == "" {
		return false, nil
	}
	var v Verification
	status, err := a.post(ctx, op, c.path("VerificationCheck"), url.Values{"To": {to}, "Code": {code}}, &v)
	if status == http.StatusNotFound && codeOf(err) == CodeNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch v.Status {
	case "approved":
		if v.Valid == nil || *v.Valid {
			return true, nil
		}
	case "pending", "canceled", "expired", "max_attempts_reached", "deleted", "failed":
		return false, nil
	}
	// Unknown, or "approved" with valid false: fail closed, and say so.
	return false, &Error{Provider: "twilio_verify", Op: op, Status: status,
		Err: fmt.Errorf("unexpected verification status %q (valid %v)", v.Status, v.Valid != nil && *v.Valid)}
}
