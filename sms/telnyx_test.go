package sms

import (
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestTelnyxCaddyfileAndProvision(t *testing.T) {
	var p Telnyx
	parsed(t, &p, "telnyx {\n api_key KEYabc\n from +12015550100\n messaging_profile_id mp-1\n timeout 2s\n}")
	if p.APIKey != "KEYabc" || p.From != "+12015550100" || p.MessagingProfileID != "mp-1" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Telnyx) }, optionErrors("telnyx", "from", "sender"))
	t.Setenv("TELNYX_TEST_KEY", "s3cret")
	provisionErrors(t, func() Telnyx { return Telnyx{APIKey: "{env.TELNYX_TEST_KEY}", From: "+12015550100"} }, []provisionCase[*Telnyx]{
		{"ok", func(*Telnyx) {}, ""},
		{"profile only", func(p *Telnyx) { p.From, p.MessagingProfileID = "", "mp-1" }, ""},
		{"no key", func(p *Telnyx) { p.APIKey = "{env.TELNYX_TEST_UNSET}" }, "api_key is required"},
		{"no sender", func(p *Telnyx) { p.From = "" }, "from or messaging_profile_id is required"},
		{"bad endpoint", func(p *Telnyx) { p.Endpoint = "ftp://api.telnyx.com" }, "http or https"},
	})
}

func TestTelnyxSend(t *testing.T) {
	srv := fakegw.NewReply(t, 200, `{"data":{"id":"msg-1"}}`)
	p := Telnyx{APIKey: "KEYabc", From: "+12015550100", Endpoint: srv.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	sent(t, &p, "msg-1")
	srv.Answer(400, `{"errors":[{"code":"40310","title":"Invalid 'to' address","detail":"+12015550123 is not reachable"}]}`)
	refused(t, &p, "telnyx", func(e *Error) bool { return e.Code == "40310" })
}
