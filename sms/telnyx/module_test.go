package telnyx

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestTelnyxCaddyfileAndProvision(t *testing.T) {
	var p Telnyx
	caddysmstest.Parsed(t, &p, "telnyx {\n api_key KEYabc\n from +12015550100\n messaging_profile_id mp-1\n timeout 2s\n}")
	if p.APIKey != "KEYabc" || p.From != "+12015550100" || p.MessagingProfileID != "mp-1" {
		t.Errorf("parsed %+v", p)
	}
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Telnyx) }, caddysmstest.OptionErrors("telnyx", "from", "sender"))
	t.Setenv("TELNYX_TEST_KEY", "s3cret")
	caddysmstest.ProvisionErrors(t, func() Telnyx { return Telnyx{APIKey: "{env.TELNYX_TEST_KEY}", From: "+12015550100"} }, []caddysmstest.ProvisionCase[*Telnyx]{
		{Name: "ok", Edit: func(*Telnyx) {}},
		{Name: "profile only", Edit: func(p *Telnyx) { p.From, p.MessagingProfileID = "", "mp-1" }},
		{Name: "no key", Edit: func(p *Telnyx) { p.APIKey = "{env.TELNYX_TEST_UNSET}" }, WantErr: "api_key is required"},
		{Name: "no sender", Edit: func(p *Telnyx) { p.From = "" }, WantErr: "from or messaging_profile_id is required"},
		{Name: "bad endpoint", Edit: func(p *Telnyx) { p.Endpoint = "ftp://api.telnyx.com" }, WantErr: "http or https"},
	})
}

func TestTelnyxSend(t *testing.T) {
	srv := fakegw.NewReply(t, 200, `{"data":{"id":"msg-1"}}`)
	p := Telnyx{APIKey: "KEYabc", From: "+12015550100", Endpoint: srv.URL()}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	caddysmstest.Sent(t, &p, "msg-1")
	srv.Answer(400, `{"errors":[{"code":"40310","title":"Invalid 'to' address","detail":"+12015550123 is not reachable"}]}`)
	caddysmstest.Refused(t, &p, "telnyx", func(e *sms.Error) bool { return e.Code == "40310" })
}

// TestTelnyxLogsNoSecrets sends with Debug logs on, accepted and refused, and
// finds no secret, code or whole phone in what is logged or returned.
func TestTelnyxLogsNoSecrets(t *testing.T) {
	const secret = "s3cret-value"
	caddysmstest.LogsNoSecrets(t, "telnyx", secret,
		func(endpoint string) *Telnyx {
			return &Telnyx{APIKey: secret, From: "+12015550100", Endpoint: endpoint}
		},
		func(p *Telnyx, l *zap.Logger) { p.logger = l },
		`{"data":{"id":"m1"}}`,
		`{"errors":[{"code":"40310","title":"Invalid to","detail":"`+caddysmstest.Phone+` `+caddysmstest.Code+`"}]}`)
}
