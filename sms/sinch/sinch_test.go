package sinch

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

const path = "/xms/v1/plan-1/batches"

func client(endpoint string) *Client {
	return &Client{ServicePlanID: "plan-1", APIToken: "tok", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
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
		{"with a sender", Message{From: "+12015550100", To: "+12015550123", Body: text},
			map[string]any{"from": "+12015550100", "to": []string{"+12015550123"}, "body": text}},
		{"the plan's default originator", Message{To: "12015550123", Body: text},
			map[string]any{"to": []string{"+12015550123"}, "body": text}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.JSONAPI(t, path, "Bearer tok", "v1.2.3", 201, body(fakegw.SinchBatch("01FC66621XXXXX119Z8PMV1QPQ", tt.m.From, "+12015550123", text)),
				func(t *testing.T, b map[string]any) {
					if body(b) != body(tt.want) {
						t.Errorf("body %v, want %v", b, tt.want)
					}
				})
			id, err := client(srv.URL()).Send(context.Background(), tt.m)
			if err != nil || id != "01FC66621XXXXX119Z8PMV1QPQ" {
				t.Fatalf("Send = %q, %v", id, err)
			}
		})
	}
	if RegionEndpoint("eu") != "https://eu.sms.api.sinch.com" {
		t.Error(RegionEndpoint("eu"))
	}
}

// TestSendErrors: Sinch's error shapes, and which are definite refusals.
func TestSendErrors(t *testing.T) {
	tests := []struct {
		name, body            string
		status                int
		wantCode, wantMessage string
		definite, wantErr     bool
	}{
		{"bad number", `{"code":"syntax_invalid_parameter_format","text":"Invalid recipient"}`, 400, "syntax_invalid_parameter_format", "Invalid recipient", true, false},
		{"bad token", `{"code":"unauthorized","text":"Unauthorized"}`, 401, "unauthorized", "Unauthorized", true, false},
		{"empty 401", ``, 401, "", "", true, false},
		{"out of credit", `{"code":"insufficient_credit","text":"Not enough credit"}`, 402, "insufficient_credit", "Not enough credit", true, false},
		{"plan not ours", `{"code":"forbidden","text":"Service plan not found"}`, 403, "forbidden", "Service plan not found", true, false},
		{"too many requests", `{"code":"too_many_requests","text":"Rate limit exceeded"}`, 429, "too_many_requests", "Rate limit exceeded", true, false},
		{"server error", `{"code":"internal_error","text":"oops"}`, 500, "internal_error", "oops", false, false},
		{"gateway HTML", "<html>503</html>", 503, "", "", false, false},
		{"garbage 201", `{"id":`, 201, "", "", false, true},
		{"201 without an id", `{"to":["+12015550123"]}`, 201, "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.JSONAPI(t, path, "Bearer tok", "v1.2.3", tt.status, tt.body, nil)
			_, err := client(srv.URL()).Send(context.Background(), Message{To: "+12015550123", Body: "t"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want *Error", err)
			}
			if e.Provider != "sinch" || e.Status != tt.status || e.Code != tt.wantCode || e.Message != tt.wantMessage || (e.Err != nil) != tt.wantErr {
				t.Errorf("error %+v", e)
			}
			if got := httpapi.Definite(err); got != tt.definite {
				t.Errorf("Definite(%v) = %v, want %v", err, got, tt.definite)
			}
		})
	}
}

func TestSendBeforeAnyCall(t *testing.T) {
	srv := fakegw.NewReply(t, 201, `{}`)
	for _, c := range []*Client{client(srv.URL()), {ServicePlanID: "", Endpoint: srv.URL()}, {ServicePlanID: "p"}} {
		for _, m := range []Message{{To: "12 ab", Body: "t"}, {To: "+12015550123"}} {
			if _, err := c.Send(context.Background(), m); !httpapi.Definite(err) {
				t.Errorf("%+v: %v, want a definite refusal", m, err)
			}
		}
	}
	if _, err := (&Client{Endpoint: srv.URL()}).Send(context.Background(), Message{To: "+12015550123", Body: "t"}); !httpapi.Definite(err) {
		t.Errorf("no service plan: %v", err)
	}
	if srv.Last().Method != "" {
		t.Error("a request was made")
	}
	c := client(fakegw.Hang(t))
	c.HTTPClient = NewHTTPClient(50 * time.Millisecond)
	if _, err := c.Send(context.Background(), Message{To: "+12015550123", Body: "t"}); err == nil || httpapi.Definite(err) {
		t.Errorf("timeout: %v, want an unknown outcome", err)
	}
}
