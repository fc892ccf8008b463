package plivo

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestPlivoCaddyfileAndProvision(t *testing.T) {
	var p Plivo
	caddysmstest.Parsed(t, &p, "plivo {\n auth_id MA1\n auth_token t\n src +12015550100\n timeout 2s\n}")
	if p.AuthID != "MA1" || p.AuthToken != "t" || p.Src != "+12015550100" {
		t.Errorf("parsed %+v", p)
	}
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Plivo) }, caddysmstest.OptionErrors("plivo", "src", "from"))
	t.Setenv("PLIVO_TEST_TOKEN", "s3cret")
	caddysmstest.ProvisionErrors(t, func() Plivo { return Plivo{AuthID: "MA1", AuthToken: "{env.PLIVO_TEST_TOKEN}", Src: "+12015550100"} }, []caddysmstest.ProvisionCase[*Plivo]{
		{Name: "ok", Edit: func(*Plivo) {}},
		{Name: "powerpack", Edit: func(p *Plivo) { p.Src, p.PowerpackUUID = "", "pp-1" }},
		{Name: "no id", Edit: func(p *Plivo) { p.AuthID = "" }, WantErr: "auth_id is required"},
		{Name: "no token", Edit: func(p *Plivo) { p.AuthToken = "{env.PLIVO_TEST_UNSET}" }, WantErr: "auth_token is required"},
		{Name: "no sender", Edit: func(p *Plivo) { p.Src = "" }, WantErr: "one of src and powerpack_uuid"},
		{Name: "both senders", Edit: func(p *Plivo) { p.PowerpackUUID = "pp-1" }, WantErr: "one of src and powerpack_uuid"},
		{Name: "bad endpoint", Edit: func(p *Plivo) { p.Endpoint = "https://api.plivo.com/?token=s3cret" }, WantErr: "query"},
	})
}

func TestPlivoSend(t *testing.T) {
	srv := fakegw.NewReply(t, 202, `{"api_id":"a","message":"message(s) queued","message_uuid":["u-1"]}`)
	p := Plivo{AuthID: "MA1", AuthToken: "t", Src: "+12015550100", Endpoint: srv.URL()}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	caddysmstest.Sent(t, &p, "u-1")
	if got := srv.Last().Path; got != "/v1/Account/MA1/Message/" {
		t.Errorf("path %q", got)
	}
	srv.Answer(400, `{"api_id":"a","error":"12015550123 is not a valid phone number"}`)
	caddysmstest.Refused(t, &p, "plivo", func(e *sms.Error) bool { return e.Status == 400 })
}
