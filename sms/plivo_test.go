package sms

import (
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestPlivoCaddyfileAndProvision(t *testing.T) {
	var p Plivo
	parsed(t, &p, "plivo {\n auth_id MA1\n auth_token t\n src +12015550100\n timeout 2s\n}")
	if p.AuthID != "MA1" || p.AuthToken != "t" || p.Src != "+12015550100" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Plivo) }, optionErrors("plivo", "src", "from"))
	t.Setenv("PLIVO_TEST_TOKEN", "s3cret")
	provisionErrors(t, func() Plivo { return Plivo{AuthID: "MA1", AuthToken: "{env.PLIVO_TEST_TOKEN}", Src: "+12015550100"} }, []provisionCase[*Plivo]{
		{"ok", func(*Plivo) {}, ""},
		{"powerpack", func(p *Plivo) { p.Src, p.PowerpackUUID = "", "pp-1" }, ""},
		{"no id", func(p *Plivo) { p.AuthID = "" }, "auth_id is required"},
		{"no token", func(p *Plivo) { p.AuthToken = "{env.PLIVO_TEST_UNSET}" }, "auth_token is required"},
		{"no sender", func(p *Plivo) { p.Src = "" }, "one of src and powerpack_uuid"},
		{"both senders", func(p *Plivo) { p.PowerpackUUID = "pp-1" }, "one of src and powerpack_uuid"},
		{"bad endpoint", func(p *Plivo) { p.Endpoint = "https://api.plivo.com/?token=s3cret" }, "query"},
	})
}

func TestPlivoSend(t *testing.T) {
	srv := fakegw.NewReply(t, 202, `{"api_id":"a","message":"message(s) queued","message_uuid":["u-1"]}`)
	p := Plivo{AuthID: "MA1", AuthToken: "t", Src: "+12015550100", Endpoint: srv.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	sent(t, &p, "u-1")
	if got := srv.Last().Path; got != "/v1/Account/MA1/Message/" {
		t.Errorf("path %q", got)
	}
	srv.Answer(400, `{"api_id":"a","error":"12015550123 is not a valid phone number"}`)
	refused(t, &p, "plivo", func(e *Error) bool { return e.Status == 400 })
}
