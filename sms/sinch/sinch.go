// Package sinch is a small client for Sinch's SMS REST API: a batch to one
// recipient, POST /xms/v1/{service_plan_id}/batches. The client knows
// nothing of Caddy: module.go, the phone_otp provider module beside it,
// wraps it, and anything else may use the client on its own.
package sinch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// Regions are the regions whose SMS API has a host of its own,
// https://{region}.sms.api.sinch.com.
var Regions = []string{"us", "eu", "au", "br", "ca"}

// RegionEndpoint is the API base URL of region.
func RegionEndpoint(region string) string {
	return "https://" + region + ".sms.api.sinch.com"
}

// Error is every failure the client returns. When Sinch refuses, Code
// and Message are its error code and text.
type Error = httpapi.Error

// NewHTTPClient returns a client with the given timeout that never
// follows redirects.
var NewHTTPClient = httpapi.NewHTTPClient

// Client sends SMS. Set its fields before first use; it is then safe for
// concurrent use.
type Client struct {
	// ServicePlanID is in every URL; APIToken is sent as a bearer token.
	ServicePlanID, APIToken string
	// Endpoint is the API base URL, e.g. RegionEndpoint("eu").
	Endpoint string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls; one with the default timeout that does
	// not follow redirects if nil.
	HTTPClient *http.Client
}

// Message is one SMS to send. From may be empty when the service plan
// has a default originator.
type Message struct {
	From string
	// To is the destination in E.164 form.
	To   string
	Body string
}

type request struct {
	From string   `json:"from,omitempty"`
	To   []string `json:"to"`
	Body string   `json:"body"`
}

// response is Sinch's 201 for the batch it created.
type response struct {
	ID string `json:"id"`
}

// Send sends m as a batch of one and returns the batch id.
func (c *Client) Send(ctx context.Context, m Message) (string, error) {
	const op = "send batch"
	caller := httpapi.Caller{Provider: "sinch", Version: c.Version, HTTPClient: c.HTTPClient}
	to, err := httpapi.E164(m.To)
	if err != nil {
		return "", caller.Reject(op, err)
	}
	if m.Body == "" || c.ServicePlanID == "" || c.Endpoint == "" {
		return "", caller.Reject(op, errors.New("service plan, endpoint and body are needed"))
	}
	u := httpapi.URL(c.Endpoint, "", "/xms/v1/"+url.PathEscape(c.ServicePlanID)+"/batches")
	var resp response
	if err := caller.JSON(ctx, op, u, httpapi.Bearer(c.APIToken), request{From: m.From, To: []string{to}, Body: m.Body}, &resp, parseError); err != nil {
		return "", err
	}
	if resp.ID == "" {
		return "", caller.Lacks(op, http.StatusCreated, "batch id")
	}
	return resp.ID, nil
}

// parseError reads Sinch's error body, {"code","text"}.
func parseError(raw []byte) (string, string) {
	var e struct {
		Code string `json:"code"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return "", ""
	}
	return e.Code, e.Text
}
