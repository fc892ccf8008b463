package plivo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

const path = "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/"

var auth = "Basic " + base64.StdEncoding.EncodeToString([]byte("MAXXXXXXXXXXXXXXXXXX:tok"))

func client(endpoint string) *Client {
	return &Client{AuthID: "MAXXXXXXXXXXXXXXXXXX", AuthToken: "tok", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
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
		{"from a number", Message{Src: "+12015550100", Dst: "+12015550123", Text: text},
			map[string]any{"src": "+12015550100", "dst": "+12015550123", "text": text}},
		{"from a powerpack", Message{PowerpackUUID: "d35f2e82-d387-427f-8594-6fa07703744d", Dst: "12015550123", Text: text},
			map[string]any{"powerpack_uuid": "d35f2e82-d387-427f-8594-6fa07703744d", "dst": "+12015550123", "text": text}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.JSONAPI(t, path, auth, "v1.2.3", 202, body(fakegw.PlivoQueued("db3ce55a-7f1d-11e1-8ea7-1231380bc196")),
				func(t *testing.T, b map[string]any) {
					if body(b) != body(tt.want) {
						t.Errorf("body %v, want %v", b, tt.want)
					}
				})
			id, err := client(srv.URL()).Send(context.Background(), tt.m)
			if err != nil || id != "db3ce55a-7f1d-11e1-8ea7-1231380bc196" {
				t.Fatalf("Send = %q, %v", id, err)
			}
		})
	}
}

// TestSendErrors: Plivo's error shapes, and which are definite refusals.
func TestSendErrors(t *testing.T) {
	tests := []struct {
		name, body        string
		status            int
		wantMessage       string
		definite, wantErr bool
	}{
		{"bad number", `{"api_id":"a","error":"12015550123 is not a valid phone number"}`, 400, "12015550123 is not a valid phone number", true, false},
		{"field error object", `{"api_id":"a","error":{"dst":["required"]}}`, 400, `{"dst":["required"]}`, true, false},
		{"bad credentials", `{"api_id":"a","error":"Authentication failed"}`, 401, "Authentication failed", true, false},
		{"no credit", `{"api_id":"a","error":"insufficient credit"}`, 402, "insufficient credit", true, false},
		{"too many requests", `{"api_id":"a","error":"too many requests"}`, 429, "too many requests", true, false},
		{"server error", `{"api_id":"a","error":"unexpected error"}`, 500, "unexpected error", false, false},
		{"gateway HTML", "<html>503</html>", 503, "", false, false},
		{"garbage 202", `{"message_uuid":`, 202, "", false, true},
		{"202 without a uuid", `{"api_id":"a","message":"message(s) queued","message_uuid":[]}`, 202, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.JSONAPI(t, path, auth, "v1.2.3", tt.status, tt.body, nil)
			_, err := client(srv.URL()).Send(context.Background(), Message{Src: "+12015550100", Dst: "+12015550123", Text: "t"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want *Error", err)
			}
			if e.Provider != "plivo" || e.Status != tt.status || e.Message != tt.wantMessage || (e.Err != nil) != tt.wantErr {
				t.Errorf("error %+v", e)
			}
			if got := httpapi.Definite(err); got != tt.definite {
				t.Errorf("Definite(%v) = %v, want %v", err, got, tt.definite)
			}
		})
	}
}

func TestSendBeforeAnyCall(t *testing.T) {
	srv := fakegw.NewReply(t, 202, `{}`)
	for _, m := range []Message{
		{Src: "+12015550100", Dst: "12 ab", Text: "t"},
		{Dst: "+12015550123", Text: "t"},
		{Src: "+12015550100", PowerpackUUID: "p", Dst: "+12015550123", Text: "t"},
		{Src: "+12015550100", Dst: "+12015550123"},
	} {
		if _, err := client(srv.URL()).Send(context.Background(), m); !httpapi.Definite(err) {
			t.Errorf("%+v: %v, want a definite refusal", m, err)
		}
	}
	if srv.Last().Method != "" {
		t.Error("a request was made")
	}
	c := client(fakegw.Hang(t))
	c.HTTPClient = NewHTTPClient(50 * time.Millisecond)
	if _, err := c.Send(context.Background(), Message{Src: "+12015550100", Dst: "+12015550123", Text: "t"}); err == nil || httpapi.Definite(err) {
		t.Errorf("timeout: %v, want an unknown outcome", err)
	}
}
