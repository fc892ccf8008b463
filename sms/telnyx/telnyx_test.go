package telnyx

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

func client(endpoint string) *Client {
	return &Client{APIKey: "KEYtest", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
}

func body(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

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
			srv := fakegw.JSONAPI(t, "/v2/messages", "Bearer KEYtest", "v1.2.3", 200,
				body(fakegw.TelnyxSent("40385f64-5717-4562-b3fc-2c963f66afa6", tt.m.From, "+12015550123", text)),
				func(t *testing.T, b map[string]any) {
					if body(b) != body(tt.want) {
						t.Errorf("body %v, want %v", b, tt.want)
					}
				})
			id, err := client(srv.URL()).Send(context.Background(), tt.m)
			if err != nil || id != "40385f64-5717-4562-b3fc-2c963f66afa6" {
				t.Fatalf("Send = %q, %v", id, err)
			}
		})
	}
}

// TestSendErrors: Telnyx's error shapes, and which are definite refusals.
func TestSendErrors(t *testing.T) {
	tests := []struct {
		name, body            string
		status                int
		wantCode, wantMessage string
		definite, wantErr     bool
	}{
		{"bad number", body(fakegw.TelnyxError("40310", "Invalid 'to' address", "The 'to' address is invalid.")), 400,
			"40310", "Invalid 'to' address: The 'to' address is invalid.", true, false},
		{"bad key", body(fakegw.TelnyxError("10009", "Authentication failed", "Authentication failed")), 401,
			"10009", "Authentication failed", true, false},
		{"no balance", body(fakegw.TelnyxError("10038", "Feature not permitted", "Your account balance is too low.")), 402,
			"10038", "Feature not permitted: Your account balance is too low.", true, false},
		{"rate limited", body(fakegw.TelnyxError("10011", "Too many requests", "")), 429, "10011", "Too many requests", true, false},
		{"server error", body(fakegw.TelnyxError("10007", "Unexpected error", "")), 500, "10007", "Unexpected error", false, false},
		{"gateway HTML", "<html>502</html>", 502, "", "", false, false},
		{"garbage 200", `{"data":`, 200, "", "", false, true},
		{"200 without an id", `{"data":{}}`, 200, "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.JSONAPI(t, "/v2/messages", "Bearer KEYtest", "v1.2.3", tt.status, tt.body, nil)
			_, err := client(srv.URL()).Send(context.Background(), Message{From: "+12015550100", To: "+12015550123", Text: "t"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want *Error", err)
			}
			if e.Provider != "telnyx" || e.Status != tt.status || e.Code != tt.wantCode || e.Message != tt.wantMessage || (e.Err != nil) != tt.wantErr {
				t.Errorf("error %+v", e)
			}
			if got := httpapi.Definite(err); got != tt.definite {
				t.Errorf("Definite(%v) = %v, want %v", err, got, tt.definite)
			}
		})
	}
}

func TestSendBeforeAnyCall(t *testing.T) {
	srv := fakegw.NewReply(t, 200, `{}`)
	for _, m := range []Message{
		{From: "+12015550100", To: "12 ab", Text: "t"},
		{To: "+12015550123", Text: "t"},
		{From: "+12015550100", To: "+12015550123"},
	} {
		if _, err := client(srv.URL()).Send(context.Background(), m); !httpapi.Definite(err) {
			t.Errorf("%+v: %v, want a definite refusal", m, err)
		}
	}
	if srv.Last().Method != "" {
		t.Error("a request was made")
	}
	if _, err := client(fakegw.Closed()).Send(context.Background(), Message{From: "+1201555010", To: "+12015550123", Text: "t"}); !httpapi.Definite(err) {
		t.Errorf("refused connection: %v", err)
	}
	c := client(fakegw.Hang(t))
	c.HTTPClient = NewHTTPClient(50 * time.Millisecond)
	if _, err := c.Send(context.Background(), Message{From: "+1201555010", To: "+12015550123", Text: "t"}); err == nil || httpapi.Definite(err) {
		t.Errorf("timeout: %v, want an unknown outcome", err)
	}
}
