package telnyx

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi/httpapitest"
)

func client(endpoint string) *Client {
	return &Client{APIKey: "KEYtest", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
}

var body = httpapitest.JSON

func TestSend(t *testing.T) {
	const text = "123456 is your code\n\n@example.com #123456"
	tests := []struct {
		name string
		m    Message
		want map[string]any
	}{
		{"from a number", Message{From: "+12015550100", To: "+12015550123", Text: text},
			map[string]any{"from": "+12015550100", "to": "+12015550123", "text": text}},
		{"from the profile", Message{MessagingProfileID: "4001767e-ce0f-4cae-9d5f-0d5e636e7809", To: "12015550123", Text: text},
			map[string]any{"messaging_profile_id": "4001767e-ce0f-4cae-9d5f-0d5e636e7809", "to": "+12015550123", "text": text}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			httpapitest.Sent(t, httpapitest.Gateway{Path: "/v2/messages", Auth: "Bearer KEYtest", Version: "v1.2.3"}, 200,
				fakegw.TelnyxSent("40385f64-5717-4562-b3fc-2c963f66afa6", tt.m.From, "+12015550123", text), tt.want,
				"40385f64-5717-4562-b3fc-2c963f66afa6", client, tt.m)
		})
	}
}

// TestSendErrors: Telnyx's error shapes, and which are definite refusals.
func TestSendErrors(t *testing.T) {
	httpapitest.Errors(t, "telnyx", httpapitest.Gateway{Path: "/v2/messages", Auth: "Bearer KEYtest", Version: "v1.2.3"}, []httpapitest.Shape{
		{Name: "bad number", Status: 400, Body: body(fakegw.TelnyxError("40310", "Invalid 'to' address", "The 'to' address is invalid.")),
			Code: "40310", Message: "Invalid 'to' address: The 'to' address is invalid.", Definite: true},
		{Name: "bad key", Status: 401, Body: body(fakegw.TelnyxError("10009", "Authentication failed", "Authentication failed")),
			Code: "10009", Message: "Authentication failed", Definite: true},
		{Name: "no balance", Status: 402, Body: body(fakegw.TelnyxError("10038", "Feature not permitted", "Your account balance is too low.")),
			Code: "10038", Message: "Feature not permitted: Your account balance is too low.", Definite: true},
		{Name: "rate limited", Status: 429, Body: body(fakegw.TelnyxError("10011", "Too many requests", "")), Code: "10011", Message: "Too many requests", Definite: true},
		{Name: "server error", Status: 500, Body: body(fakegw.TelnyxError("10007", "Unexpected error", "")), Code: "10007", Message: "Unexpected error"},
		{Name: "gateway HTML", Status: 502, Body: "<html>502</html>"},
		{Name: "garbage 200", Status: 200, Body: `{"data":`, WantErr: true},
		{Name: "200 without an id", Status: 200, Body: `{"data":{}}`, WantErr: true},
	}, httpapitest.Send(client, Message{From: "+12015550100", To: "+12015550123", Text: "t"}), "KEYtest")
}

func TestSendBeforeAnyCall(t *testing.T) {
	httpapitest.Unsent(t,
		httpapitest.Send(client, Message{From: "+12015550100", To: "12 ab", Text: "t"}),
		httpapitest.Send(client, Message{To: "+12015550123", Text: "t"}),
		httpapitest.Send(client, Message{From: "+12015550100", To: "+12015550123"}))
	if err := httpapitest.Send(client, Message{From: "+1201555010", To: "+12015550123", Text: "t"})(fakegw.Closed()); !httpapi.Definite(err) {
		t.Errorf("refused connection: %v", err)
	}
	httpapitest.Timeout(t, func(endpoint string, hc *http.Client) error {
		c := client(endpoint)
		c.HTTPClient = hc
		_, err := c.Send(context.Background(), Message{From: "+1201555010", To: "+12015550123", Text: "t"})
		return err
	})
}
