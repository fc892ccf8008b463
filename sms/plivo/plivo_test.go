package plivo

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi/httpapitest"
)

const path = "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/"

var auth = "Basic " + base64.StdEncoding.EncodeToString([]byte("MAXXXXXXXXXXXXXXXXXX:tok"))

func client(endpoint string) *Client {
	return &Client{AuthID: "MAXXXXXXXXXXXXXXXXXX", AuthToken: "tok", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
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
			httpapitest.Sent(t, httpapitest.Gateway{Path: path, Auth: auth, Version: "v1.2.3"}, 202, fakegw.PlivoQueued("db3ce55a-7f1d-11e1-8ea7-1231380bc196"), tt.want,
				"db3ce55a-7f1d-11e1-8ea7-1231380bc196", client, tt.m)
		})
	}
}

// TestSendErrors: Plivo's error shapes, and which are definite refusals.
func TestSendErrors(t *testing.T) {
	httpapitest.Errors(t, "plivo", httpapitest.Gateway{Path: path, Auth: auth, Version: "v1.2.3"}, []httpapitest.Shape{
		{Name: "bad number", Status: 400, Body: `{"api_id":"a","error":"12015550123 is not a valid phone number"}`, Message: "12015550123 is not a valid phone number", Definite: true},
		{Name: "field error object", Status: 400, Body: `{"api_id":"a","error":{"dst":["required"]}}`, Message: `{"dst":["required"]}`, Definite: true},
		{Name: "bad credentials", Status: 401, Body: `{"api_id":"a","error":"Authentication failed"}`, Message: "Authentication failed", Definite: true},
		{Name: "no credit", Status: 402, Body: `{"api_id":"a","error":"insufficient credit"}`, Message: "insufficient credit", Definite: true},
		{Name: "too many requests", Status: 429, Body: `{"api_id":"a","error":"too many requests"}`, Message: "too many requests", Definite: true},
		{Name: "server error", Status: 500, Body: `{"api_id":"a","error":"unexpected error"}`, Message: "unexpected error"},
		{Name: "gateway HTML", Status: 503, Body: "<html>503</html>"},
		{Name: "garbage 202", Status: 202, Body: `{"message_uuid":`, WantErr: true},
		{Name: "202 without a uuid", Status: 202, Body: `{"api_id":"a","message":"message(s) queued","message_uuid":[]}`, WantErr: true},
	}, httpapitest.Send(client, Message{Src: "+12015550100", Dst: "+12015550123", Text: "t"}), "tok", auth)
}

func TestSendBeforeAnyCall(t *testing.T) {
	httpapitest.Unsent(t,
		httpapitest.Send(client, Message{Src: "+12015550100", Dst: "12 ab", Text: "t"}),
		httpapitest.Send(client, Message{Dst: "+12015550123", Text: "t"}),
		httpapitest.Send(client, Message{Src: "+12015550100", PowerpackUUID: "p", Dst: "+12015550123", Text: "t"}),
		httpapitest.Send(client, Message{Src: "+12015550100", Dst: "+12015550123"}))
	httpapitest.Timeout(t, func(endpoint string, hc *http.Client) error {
		c := client(endpoint)
		c.HTTPClient = hc
		_, err := c.Send(context.Background(), Message{Src: "+12015550100", Dst: "+12015550123", Text: "t"})
		return err
	})
}
