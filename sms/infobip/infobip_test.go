package infobip

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi/httpapitest"
)

func client(base string) *Client {
	return &Client{APIKey: "key", BaseURL: base, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
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
			httpapitest.Sent(t, httpapitest.Gateway{Path: "/sms/3/messages", Auth: "App key", Version: "v1.2.3"}, 200,
				fakegw.InfobipStatus("4198270219630523", "12015550123", 1), tt.want,
				"4198270219630523", client, tt.m)
		})
	}
}

// TestSendErrors: Infobip's error shapes, and which are definite refusals.
func TestSendErrors(t *testing.T) {
	svc := func(id, text string) string {
		return `{"requestError":{"serviceException":{"messageId":"` + id + `","text":"` + text + `"}}}`
	}
	httpapitest.Errors(t, "infobip", httpapitest.Gateway{Path: "/sms/3/messages", Auth: "App key", Version: "v1.2.3"}, []httpapitest.Shape{
		{Name: "bad request", Status: 400, Body: svc("BAD_REQUEST", "Invalid destination address"), Code: "BAD_REQUEST", Message: "Invalid destination address", Definite: true},
		{Name: "bad key", Status: 401, Body: svc("UNAUTHORIZED", "Invalid login details"), Code: "UNAUTHORIZED", Message: "Invalid login details", Definite: true},
		{Name: "no money", Status: 402, Body: svc("INSUFFICIENT_FUNDS", "Not enough credit"), Code: "INSUFFICIENT_FUNDS", Message: "Not enough credit", Definite: true},
		{Name: "too many requests", Status: 429, Body: svc("TOO_MANY_REQUESTS", "Too many requests"), Code: "TOO_MANY_REQUESTS", Message: "Too many requests", Definite: true},
		{Name: "v3 error shape", Status: 400, Body: `{"errorCode":"E400","description":"Request cannot be processed.","action":"Check the syntax","violations":[]}`,
			Code: "E400", Message: "Request cannot be processed.", Definite: true},
		{Name: "server error", Status: 500, Body: svc("GENERAL_ERROR", "Something went wrong"), Code: "GENERAL_ERROR", Message: "Something went wrong"},
		{Name: "gateway HTML", Status: 503, Body: "<html>503</html>"},
		{Name: "rejected in a 200", Status: 200, Body: httpapitest.JSON(fakegw.InfobipStatus("m1", "12015550123", 5)), Code: "REJECTED_NETWORK (6)", Message: "Network is forbidden", Definite: true},
		{Name: "garbage 200", Status: 200, Body: `{"messages":`, WantErr: true},
		{Name: "200 without messages", Status: 200, Body: `{"bulkId":"b","messages":[]}`, WantErr: true},
	}, httpapitest.Send(client, Message{To: "+12015550123", Text: "t"}), "App key")
}

func TestSendBeforeAnyCall(t *testing.T) {
	httpapitest.Unsent(t,
		httpapitest.Send(client, Message{To: "12 ab", Text: "t"}),
		httpapitest.Send(client, Message{To: "+12015550123"}),
		func(string) error { return httpapitest.Send(client, Message{To: "+12015550123", Text: "t"})("") }) // no base URL
	httpapitest.Timeout(t, func(endpoint string, hc *http.Client) error {
		c := client(endpoint)
		c.HTTPClient = hc
		_, err := c.Send(context.Background(), Message{To: "+12015550123", Text: "t"})
		return err
	})
}
