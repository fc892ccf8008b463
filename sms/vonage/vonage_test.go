package vonage

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// fakeVonage checks what Vonage checks (method, path, form body, an
// empty query, User-Agent) and answers with status and body.
func fakeVonage(t *testing.T, status int, body string, inspect func(t *testing.T, form url.Values)) *fakegw.Reply {
	t.Helper()
	return fakegw.VonageAPI(t, "v1.2.3", status, body, inspect)
}

func client(endpoint string) *Client {
	return &Client{APIKey: "abcd1234", APISecret: "s3cret", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
}

const sent = `{"message-count":"1","messages":[{"to":"12015550123","message-id":"0A0000000123ABCD1","status":"0",` +
	`"remaining-balance":"3.14159265","message-price":"0.03330000","network":"12345"}]}`

func TestSend(t *testing.T) {
	tests := []struct {
		name, text, wantType string
	}{
		{"ascii", "123456 is your code\n\n@example.com #123456", ""},
		{"unicode", "123456 est votre code pour café.example\n\n@café.example #123456", "unicode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeVonage(t, 200, sent, func(t *testing.T, f url.Values) {
				want := url.Values{"api_key": {"abcd1234"}, "api_secret": {"s3cret"}, "from": {"MyBrand"},
					"to": {"12015550123"}, "text": {tt.text}}
				if tt.wantType != "" {
					want.Set("type", tt.wantType)
				}
				if f.Encode() != want.Encode() {
					t.Errorf("form %v, want %v", f, want)
				}
			})
			res, err := client(srv.URL()).Send(context.Background(), Message{From: "MyBrand", To: "+12015550123", Text: tt.text})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.MessageIDs) != 1 || res.MessageIDs[0] != "0A0000000123ABCD1" {
				t.Errorf("ids %q", res.MessageIDs)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name                  string
		status                int
		body                  string
		to                    string
		wantStatus            int
		wantCode, wantMessage string
		wantErr               bool
	}{
		{name: "bad credentials", status: 200, body: `{"message-count":"1","messages":[{"status":"4","error-text":"Bad Credentials"}]}`,
			wantStatus: 200, wantCode: "4", wantMessage: "Bad Credentials"},
		{name: "throttled", status: 200, body: `{"message-count":"1","messages":[{"status":"1","error-text":"Throughput Rate Exceeded - please wait [ 10 ] and retry"}]}`,
			wantStatus: 200, wantCode: "1", wantMessage: "Throughput Rate Exceeded - please wait [ 10 ] and retry"},
		{name: "second part failed", status: 200, body: `{"message-count":"2","messages":[{"status":"0","message-id":"A"},{"status":"5","error-text":"Internal Error"}]}`,
			wantStatus: 200, wantCode: "5", wantMessage: "Internal Error"},
		{name: "server error", status: 500, body: `<html>`, wantStatus: 500},
		{name: "4xx with a body", status: 401, body: `{"message-count":"1","messages":[{"status":"4","error-text":"Bad Credentials"}]}`,
			wantStatus: 401, wantCode: "4", wantMessage: "Bad Credentials"},
		{name: "garbage", status: 200, body: `{"message-count":`, wantStatus: 200, wantErr: true},
		{name: "no messages", status: 200, body: `{"message-count":"0","messages":[]}`, wantStatus: 200, wantErr: true},
		{name: "bad phone", to: "+1 201", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeVonage(t, tt.status, tt.body, nil)
			to := "+12015550123"
			if tt.to != "" {
				to = tt.to
			}
			_, err := client(srv.URL()).Send(context.Background(), Message{From: "B", To: to, Text: "t"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want *Error", err)
			}
			if e.Provider != "vonage" || e.Status != tt.wantStatus || e.Code != tt.wantCode || e.Message != tt.wantMessage || (e.Err != nil) != tt.wantErr {
				t.Errorf("error %+v", e)
			}
		})
	}
}
