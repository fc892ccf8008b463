package sinch

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi/httpapitest"
)

const path = "/xms/v1/plan-1/batches"

func client(endpoint string) *Client {
	return &Client{ServicePlanID: "plan-1", APIToken: "tok", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
}

func TestSend(t *testing.T) {
	const text = "123456 is your code\n\n@example.com #123456"
	tests := []struct {
		name string
		m    Message
		want map[string]any
	}{
		{"with a sender", Message{From: "+12015550100", To: "+12015550123", Body: text},
			map[string]any{"from": "+12015550100", "to": []string{"+12015550123"}, "body": text}},
		{"the plan's default originator", Message{To: "12015550123", Body: text},
			map[string]any{"to": []string{"+12015550123"}, "body": text}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			httpapitest.Sent(t, httpapitest.Gateway{Path: path, Auth: "Bearer tok", Version: "v1.2.3"}, 201,
				fakegw.SinchBatch("01FC66621XXXXX119Z8PMV1QPQ", tt.m.From, "+12015550123", text), tt.want,
				"01FC66621XXXXX119Z8PMV1QPQ", client, tt.m)
		})
	}
	if RegionEndpoint("eu") != "https://eu.sms.api.sinch.com" {
		t.Error(RegionEndpoint("eu"))
	}
}

// TestSendErrors: Sinch's error shapes, and which are definite refusals.
func TestSendErrors(t *testing.T) {
	httpapitest.Errors(t, "sinch", httpapitest.Gateway{Path: path, Auth: "Bearer tok", Version: "v1.2.3"}, []httpapitest.Shape{
		{Name: "bad number", Status: 400, Body: `{"code":"syntax_invalid_parameter_format","text":"Invalid recipient"}`, Code: "syntax_invalid_parameter_format", Message: "Invalid recipient", Definite: true},
		{Name: "bad token", Status: 401, Body: `{"code":"unauthorized","text":"Unauthorized"}`, Code: "unauthorized", Message: "Unauthorized", Definite: true},
		{Name: "empty 401", Status: 401, Body: ``, Definite: true},
		{Name: "out of credit", Status: 402, Body: `{"code":"insufficient_credit","text":"Not enough credit"}`, Code: "insufficient_credit", Message: "Not enough credit", Definite: true},
		{Name: "plan not ours", Status: 403, Body: `{"code":"forbidden","text":"Service plan not found"}`, Code: "forbidden", Message: "Service plan not found", Definite: true},
		{Name: "too many requests", Status: 429, Body: `{"code":"too_many_requests","text":"Rate limit exceeded"}`, Code: "too_many_requests", Message: "Rate limit exceeded", Definite: true},
		{Name: "server error", Status: 500, Body: `{"code":"internal_error","text":"oops"}`, Code: "internal_error", Message: "oops"},
		{Name: "gateway HTML", Status: 503, Body: "<html>503</html>"},
		{Name: "garbage 201", Status: 201, Body: `{"id":`, WantErr: true},
		{Name: "201 without an id", Status: 201, Body: `{"to":["+12015550123"]}`, WantErr: true},
	}, httpapitest.Send(client, Message{To: "+12015550123", Body: "t"}), "tok")
}

func TestSendBeforeAnyCall(t *testing.T) {
	noPlan := func(endpoint string) *Client { return &Client{Endpoint: endpoint} }
	var sends []func(string) error
	for _, c := range []func(string) *Client{client, noPlan, func(string) *Client { return &Client{ServicePlanID: "p"} }} {
		sends = append(sends, httpapitest.Send(c, Message{To: "12 ab", Body: "t"}), httpapitest.Send(c, Message{To: "+12015550123"}))
	}
	httpapitest.Unsent(t, append(sends, httpapitest.Send(noPlan, Message{To: "+12015550123", Body: "t"}))...)
	httpapitest.Timeout(t, func(endpoint string, hc *http.Client) error {
		c := client(endpoint)
		c.HTTPClient = hc
		_, err := c.Send(context.Background(), Message{To: "+12015550123", Body: "t"})
		return err
	})
}
