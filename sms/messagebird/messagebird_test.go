package messagebird

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

const channelsPath = "/workspaces/ws-1/channels/ch-1/messages"

func channels(endpoint string) *Client {
	return &Client{AccessKey: "key", WorkspaceID: "ws-1", ChannelID: "ch-1", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
}

func legacy(endpoint string) *Client {
	return &Client{AccessKey: "key", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
}

func body(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSend(t *testing.T) {
	const text = "123456 is your code"
	srv := fakegw.JSONAPI(t, channelsPath, "AccessKey key", "v1.2.3", 202, body(fakegw.BirdAccepted("a1405560-c8d3-4b1a-877d-3f449ad95352")),
		func(t *testing.T, b map[string]any) {
			want := `{"body":{"text":{"text":"123456 is your code"},"type":"text"},"receiver":{"contacts":[{"identifierKey":"phonenumber","identifierValue":"+12015550123"}]}}`
			if body(b) != want {
				t.Errorf("body %s, want %s", body(b), want)
			}
		})
	if id, err := channels(srv.URL()).Send(context.Background(), Message{To: "12015550123", Text: text}); err != nil || id != "a1405560-c8d3-4b1a-877d-3f449ad95352" {
		t.Fatalf("channels: Send = %q, %v", id, err)
	}
	old := fakegw.JSONAPI(t, "/messages", "AccessKey key", "v1.2.3", 201, body(fakegw.BirdLegacySent("49e40bae0b374f1ca5e3d04d46edc7c1", "MyBrand", 12015550123, text)),
		func(t *testing.T, b map[string]any) {
			if want := `{"body":"123456 is your code","originator":"MyBrand","recipients":[12015550123]}`; body(b) != want {
				t.Errorf("body %s, want %s", body(b), want)
			}
		})
	if id, err := legacy(old.URL()).Send(context.Background(), Message{Originator: "MyBrand", To: "+12015550123", Text: text}); err != nil || id != "49e40bae0b374f1ca5e3d04d46edc7c1" {
		t.Fatalf("legacy: Send = %q, %v", id, err)
	}
}

// TestSendErrors: Bird's error shapes, in both APIs, and which are
// definite refusals.
func TestSendErrors(t *testing.T) {
	legacyErr := func(code int, desc, param string) string {
		return body(map[string]any{"errors": []map[string]any{{"code": code, "description": desc, "parameter": param}}})
	}
	tests := []struct {
		name, body            string
		legacy                bool
		status                int
		wantCode, wantMessage string
		definite, wantErr     bool
	}{
		{"legacy: no recipients", legacyErr(9, "no (correct) recipients found", "recipients"), true, 422, "9", "no (correct) recipients found (recipients)", true, false},
		{"legacy: bad key", legacyErr(2, "Request not allowed (incorrect access_key)", "access_key"), true, 401, "2", "Request not allowed (incorrect access_key) (access_key)", true, false},
		{"legacy: no balance", legacyErr(25, "Not enough balance", ""), true, 402, "25", "Not enough balance", true, false},
		{"legacy: server error", legacyErr(99, "Internal error", ""), true, 500, "99", "Internal error", false, false},
		{"bad payload", `{"code":"InvalidPayload","message":"receiver is invalid"}`, false, 422, "InvalidPayload", "receiver is invalid", true, false},
		{"bad key", `{"code":"Unauthorized","message":"invalid access key"}`, false, 401, "Unauthorized", "invalid access key", true, false},
		{"no channel", `{"code":"NotFound","message":"channel not found"}`, false, 404, "NotFound", "channel not found", true, false},
		{"rate limited", `{"code":"TooManyRequests","message":"slow down"}`, false, 429, "TooManyRequests", "slow down", true, false},
		{"server error", `{"code":"InternalServerError","message":"oops"}`, false, 500, "InternalServerError", "oops", false, false},
		{"gateway HTML", "<html>503</html>", false, 503, "", "", false, false},
		{"garbage 202", `{"id":`, false, 202, "", "", false, true},
		{"202 without an id", `{"status":"accepted"}`, false, 202, "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, c := channelsPath, channels
			if tt.legacy {
				path, c = "/messages", legacy
			}
			srv := fakegw.JSONAPI(t, path, "AccessKey key", "v1.2.3", tt.status, tt.body, nil)
			_, err := c(srv.URL()).Send(context.Background(), Message{Originator: "B", To: "+12015550123", Text: "t"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want *Error", err)
			}
			if e.Provider != "messagebird" || (e.Status != tt.status && !tt.wantErr) || e.Code != tt.wantCode || e.Message != tt.wantMessage || (e.Err != nil) != tt.wantErr {
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
	half := channels(srv.URL())
	half.ChannelID = ""
	for _, tc := range []struct {
		c *Client
		m Message
	}{
		{channels(srv.URL()), Message{To: "12 ab", Text: "t"}},
		{channels(srv.URL()), Message{To: "+12015550123"}},
		{legacy(srv.URL()), Message{To: "+12015550123", Text: "t"}}, // no originator
		{half, Message{To: "+12015550123", Text: "t"}},
	} {
		if _, err := tc.c.Send(context.Background(), tc.m); !httpapi.Definite(err) {
			t.Errorf("%+v: %v, want a definite refusal", tc.m, err)
		}
	}
	if srv.Last().Method != "" {
		t.Error("a request was made")
	}
	c := channels(fakegw.Hang(t))
	c.HTTPClient = NewHTTPClient(50 * time.Millisecond)
	if _, err := c.Send(context.Background(), Message{To: "+12015550123", Text: "t"}); err == nil || httpapi.Definite(err) {
		t.Errorf("timeout: %v, want an unknown outcome", err)
	}
}
