package sms

import (
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestMessageBirdCaddyfileAndProvision(t *testing.T) {
	var p MessageBird
	parsed(t, &p, "messagebird {\n access_key k\n workspace_id ws\n channel_id ch\n timeout 2s\n}")
	if p.AccessKey != "k" || p.WorkspaceID != "ws" || p.ChannelID != "ch" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(MessageBird) }, optionErrors("messagebird", "api", "from"))
	t.Setenv("BIRD_TEST_KEY", "s3cret")
	provisionErrors(t, func() MessageBird {
		return MessageBird{AccessKey: "{env.BIRD_TEST_KEY}", WorkspaceID: "ws", ChannelID: "ch"}
	}, []provisionCase[*MessageBird]{
		{"ok", func(*MessageBird) {}, ""},
		{"legacy", func(p *MessageBird) { p.API, p.WorkspaceID, p.ChannelID, p.Originator = "legacy", "", "", "MyBrand" }, ""},
		{"no key", func(p *MessageBird) { p.AccessKey = "{env.BIRD_TEST_UNSET}" }, "access_key is required"},
		{"no channel", func(p *MessageBird) { p.ChannelID = "" }, "workspace_id and channel_id are required"},
		{"originator with channels", func(p *MessageBird) { p.Originator = "MyBrand" }, "originator is for api legacy"},
		{"legacy without originator", func(p *MessageBird) { p.API, p.WorkspaceID, p.ChannelID = "legacy", "", "" }, "originator is required"},
		{"legacy with a channel", func(p *MessageBird) { p.API, p.Originator = "legacy", "B" }, "are for api channels"},
		{"unknown api", func(p *MessageBird) { p.API = "v2" }, "api must be channels or legacy"},
		{"bad endpoint", func(p *MessageBird) { p.Endpoint = "https://api.bird.com#s3cret" }, "fragment"},
	})
}

func TestMessageBirdSend(t *testing.T) {
	srv := fakegw.NewReply(t, 202, `{"id":"m-1","status":"accepted"}`)
	p := MessageBird{AccessKey: "k", WorkspaceID: "ws", ChannelID: "ch", Endpoint: srv.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	sent(t, &p, "m-1")
	if got := srv.Last().Path; got != "/workspaces/ws/channels/ch/messages" {
		t.Errorf("path %q", got)
	}
	old := fakegw.NewReply(t, 422, `{"errors":[{"code":9,"description":"no (correct) recipients found: 12015550123","parameter":"recipients"}]}`)
	p = MessageBird{AccessKey: "k", API: "legacy", Originator: "MyBrand", Endpoint: old.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	refused(t, &p, "messagebird", func(e *Error) bool { return e.Code == "9" })
	if got := old.Last().Path; got != "/messages" {
		t.Errorf("legacy path %q", got)
	}
}
