package infobip

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

func client(base string) *Client {
	return &Client{APIKey: "key", BaseURL: base, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
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
		want string
	}{
		{"with a sender", Message{Sender: "InfoSMS", To: "+12015550123", Text: text},
			`{"messages":[{"content":{"text":"` + "123456 is your code\\n\\n@example.com #123456" + `"},"destinations":[{"to":"12015550123"}],"sender":"InfoSMS"}]}`},
		{"Infobip's default sender", Message{To: "12015550123", Text: text},
			`{"messages":[{"content":{"text":"` + "123456 is your code\\n\\n@example.com #123456" + `"},"destinations":[{"to":"12015550123"}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.JSONAPI(t, "/sms/3/messages", "App key", "v1.2.3", 200, body(fakegw.InfobipStatus("4198270219630523", "12015550123", 1)),
				func(t *testing.T, b map[string]any) {
					if body(b) != tt.want {
						t.Errorf("body %s, want %s", body(b), tt.want)
					}
				})
			id, err := client(srv.URL()).Send(context.Background(), tt.m)
			if err != nil || id != "4198270219630523" {
				t.Fatalf("Send = %q, %v", id, err)
			}
		})
	}
}

// TestSendErrors: Infobip's error shapes, and which are definite refusals.
func TestSendErrors(t *testing.T) {
	svc := func(id, text string) string {
		return `{"requestError":{"serviceException":{"messageId":"` + id + `","text":"` + text + `"}}}`
	}
	tests := []struct {
		name, body            string
		status                int
		wantCode, wantMessage string
		definite, wantErr     bool
	}{
		{"bad request", svc("BAD_REQUEST", "Invalid destination address"), 400, "BAD_REQUEST", "Invalid destination address", true, false},
		{"bad key", svc("UNAUTHORIZED", "Invalid login details"), 401, "UNAUTHORIZED", "Invalid login details", true, false},
		{"no money", svc("INSUFFICIENT_FUNDS", "Not enough credit"), 402, "INSUFFICIENT_FUNDS", "Not enough credit", true, false},
		{"too many requests", svc("TOO_MANY_REQUESTS", "Too many requests"), 429, "TOO_MANY_REQUESTS", "Too many requests", true, false},
		{"v3 error shape", `{"errorCode":"E400","description":"Request cannot be processed.","action":"Check the syntax","violations":[]}`, 400,
			"E400", "Request cannot be processed.", true, false},
		{"server error", svc("GENERAL_ERROR", "Something went wrong"), 500, "GENERAL_ERROR", "Something went wrong", false, false},
		{"gateway HTML", "<html>503</html>", 503, "", "", false, false},
		{"rejected in a 200", body(fakegw.InfobipStatus("m1", "12015550123", 5)), 200, "REJECTED_NETWORK (6)", "Network is forbidden", true, false},
		{"garbage 200", `{"messages":`, 200, "", "", false, true},
		{"200 without messages", `{"bulkId":"b","messages":[]}`, 200, "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.JSONAPI(t, "/sms/3/messages", "App key", "v1.2.3", tt.status, tt.body, nil)
			_, err := client(srv.URL()).Send(context.Background(), Message{To: "+12015550123", Text: "t"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want *Error", err)
			}
			if e.Provider != "infobip" || e.Status != tt.status || e.Code != tt.wantCode || e.Message != tt.wantMessage || (e.Err != nil) != tt.wantErr {
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
	for _, m := range []Message{{To: "12 ab", Text: "t"}, {To: "+12015550123"}} {
		if _, err := client(srv.URL()).Send(context.Background(), m); !httpapi.Definite(err) {
			t.Errorf("%+v: %v, want a definite refusal", m, err)
		}
	}
	if _, err := client("").Send(context.Background(), Message{To: "+12015550123", Text: "t"}); !httpapi.Definite(err) {
		t.Errorf("no base URL: %v", err)
	}
	if srv.Last().Method != "" {
		t.Error("a request was made")
	}
	c := client(fakegw.Hang(t))
	c.HTTPClient = NewHTTPClient(50 * time.Millisecond)
	if _, err := c.Send(context.Background(), Message{To: "+12015550123", Text: "t"}); err == nil || httpapi.Definite(err) {
		t.Errorf("timeout: %v, want an unknown outcome", err)
	}
}
