package messagebird

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi/httpapitest"
)

const channelsPath = "/workspaces/ws-1/channels/ch-1/messages"

func channels(endpoint string) *Client {
	return &Client{AccessKey: "key", WorkspaceID: "ws-1", ChannelID: "ch-1", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
}

func legacy(endpoint string) *Client {
	return &Client{AccessKey: "key", Endpoint: endpoint, Version: "v1.2.3", HTTPClient: NewHTTPClient(2 * time.Second)}
}

func TestSend(t *testing.T) {
	const text = "123456 is your code"
	httpapitest.Sent(t, httpapitest.Gateway{Path: channelsPath, Auth: "AccessKey key", Version: "v1.2.3"}, 202, fakegw.BirdAccepted("a1405560-c8d3-4b1a-877d-3f449ad95352"),
		`{"body":{"text":{"text":"123456 is your code"},"type":"text"},"receiver":{"contacts":[{"identifierKey":"phonenumber","identifierValue":"+12015550123"}]}}`,
		"a1405560-c8d3-4b1a-877d-3f449ad95352", channels, Message{To: "12015550123", Text: text})
	httpapitest.Sent(t, httpapitest.Gateway{Path: "/messages", Auth: "AccessKey key", Version: "v1.2.3"}, 201, fakegw.BirdLegacySent("49e40bae0b374f1ca5e3d04d46edc7c1", "MyBrand", 12015550123, text),
		`{"body":"123456 is your code","originator":"MyBrand","recipients":[12015550123]}`,
		"49e40bae0b374f1ca5e3d04d46edc7c1", legacy, Message{Originator: "MyBrand", To: "+12015550123", Text: text})
}

// TestSendErrors: Bird's error shapes, in both APIs, and which are
// definite refusals.
func TestSendErrors(t *testing.T) {
	legacyErr := func(code int, desc, param string) string {
		return httpapitest.JSON(map[string]any{"errors": []map[string]any{{"code": code, "description": desc, "parameter": param}}})
	}
	m := Message{Originator: "B", To: "+12015550123", Text: "t"}
	t.Run("legacy", func(t *testing.T) {
		httpapitest.Errors(t, "messagebird", httpapitest.Gateway{Path: "/messages", Auth: "AccessKey key", Version: "v1.2.3"}, []httpapitest.Shape{
			{Name: "no recipients", Status: 422, Body: legacyErr(9, "no (correct) recipients found", "recipients"), Code: "9", Message: "no (correct) recipients found (recipients)", Definite: true},
			{Name: "bad key", Status: 401, Body: legacyErr(2, "Request not allowed (incorrect access_key)", "access_key"), Code: "2", Message: "Request not allowed (incorrect access_key) (access_key)", Definite: true},
			{Name: "no balance", Status: 402, Body: legacyErr(25, "Not enough balance", ""), Code: "25", Message: "Not enough balance", Definite: true},
			{Name: "server error", Status: 500, Body: legacyErr(99, "Internal error", ""), Code: "99", Message: "Internal error"},
		}, httpapitest.Send(legacy, m), "AccessKey key")
	})
	httpapitest.Errors(t, "messagebird", httpapitest.Gateway{Path: channelsPath, Auth: "AccessKey key", Version: "v1.2.3"}, []httpapitest.Shape{
		{Name: "bad payload", Status: 422, Body: `{"code":"InvalidPayload","message":"receiver is invalid"}`, Code: "InvalidPayload", Message: "receiver is invalid", Definite: true},
		{Name: "bad key", Status: 401, Body: `{"code":"Unauthorized","message":"invalid access key"}`, Code: "Unauthorized", Message: "invalid access key", Definite: true},
		{Name: "no channel", Status: 404, Body: `{"code":"NotFound","message":"channel not found"}`, Code: "NotFound", Message: "channel not found", Definite: true},
		{Name: "rate limited", Status: 429, Body: `{"code":"TooManyRequests","message":"slow down"}`, Code: "TooManyRequests", Message: "slow down", Definite: true},
		{Name: "server error", Status: 500, Body: `{"code":"InternalServerError","message":"oops"}`, Code: "InternalServerError", Message: "oops"},
		{Name: "gateway HTML", Status: 503, Body: "<html>503</html>"},
		{Name: "garbage 202", Status: 202, Body: `{"id":`, WantErr: true},
		// the client names the status of an answer without an id itself
		{Name: "202 without an id", Status: 202, Body: `{"status":"accepted"}`, WantErr: true, ErrStatus: 200},
	}, httpapitest.Send(channels, m), "AccessKey key")
}

func TestSendBeforeAnyCall(t *testing.T) {
	half := func(endpoint string) *Client {
		c := channels(endpoint)
		c.ChannelID = ""
		return c
	}
	httpapitest.Unsent(t,
		httpapitest.Send(channels, Message{To: "12 ab", Text: "t"}),
		httpapitest.Send(channels, Message{To: "+12015550123"}),
		httpapitest.Send(legacy, Message{To: "+12015550123", Text: "t"}), // no originator
		httpapitest.Send(half, Message{To: "+12015550123", Text: "t"}))
	httpapitest.Timeout(t, func(endpoint string, hc *http.Client) error {
		c := channels(endpoint)
		c.HTTPClient = hc
		_, err := c.Send(context.Background(), Message{To: "+12015550123", Text: "t"})
		return err
	})
}
