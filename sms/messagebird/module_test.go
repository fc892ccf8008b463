package messagebird

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestMessageBirdCaddyfileAndProvision(t *testing.T) {
	var p MessageBird
	caddysmstest.Parsed(t, &p, "messagebird {\n access_key k\n workspace_id ws\n channel_id ch\n timeout 2s\n}")
	if p.AccessKey != "k" || p.WorkspaceID != "ws" || p.ChannelID != "ch" {
		t.Errorf("parsed %+v", p)
	}
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(MessageBird) }, caddysmstest.OptionErrors("messagebird", "api", "from"))
	t.Setenv("BIRD_TEST_KEY", "s3cret")
	caddysmstest.ProvisionErrors(t, func() MessageBird {
		return MessageBird{AccessKey: "{env.BIRD_TEST_KEY}", WorkspaceID: "ws", ChannelID: "ch"}
	}, []caddysmstest.ProvisionCase[*MessageBird]{
		{Name: "ok", Edit: func(*MessageBird) {}},
		{Name: "legacy", Edit: func(p *MessageBird) { p.API, p.WorkspaceID, p.ChannelID, p.Originator = "legacy", "", "", "MyBrand" }},
		{Name: "no key", Edit: func(p *MessageBird) { p.AccessKey = "{env.BIRD_TEST_UNSET}" }, WantErr: "access_key is required"},
		{Name: "no channel", Edit: func(p *MessageBird) { p.ChannelID = "" }, WantErr: "workspace_id and channel_id are required"},
		{Name: "originator with channels", Edit: func(p *MessageBird) { p.Originator = "MyBrand" }, WantErr: "originator is for api legacy"},
		{Name: "legacy without originator", Edit: func(p *MessageBird) { p.API, p.WorkspaceID, p.ChannelID = "legacy", "", "" }, WantErr: "originator is required"},
		{Name: "legacy with a channel", Edit: func(p *MessageBird) { p.API, p.Originator = "legacy", "B" }, WantErr: "are for api channels"},
		{Name: "unknown api", Edit: func(p *MessageBird) { p.API = "v2" }, WantErr: "api must be channels or legacy"},
		{Name: "bad endpoint", Edit: func(p *MessageBird) { p.Endpoint = "https://api.bird.com#s3cret" }, WantErr: "fragment"},
	})
}

func TestMessageBirdSend(t *testing.T) {
	srv := fakegw.NewReply(t, 202, `{"id":"m-1","status":"accepted"}`)
	p := MessageBird{AccessKey: "k", WorkspaceID: "ws", ChannelID: "ch", Endpoint: srv.URL()}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	caddysmstest.Sent(t, &p, "m-1")
	if got := srv.Last().Path; got != "/workspaces/ws/channels/ch/messages" {
		t.Errorf("path %q", got)
	}
	old := fakegw.NewReply(t, 422, `{"errors":[{"code":9,"description":"no (correct) recipients found: 12015550123","parameter":"recipients"}]}`)
	p = MessageBird{AccessKey: "k", API: "legacy", Originator: "MyBrand", Endpoint: old.URL()}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	caddysmstest.Refused(t, &p, "messagebird", func(e *sms.Error) bool { return e.Code == "9" })
	if got := old.Last().Path; got != "/messages" {
		t.Errorf("legacy path %q", got)
	}
}
