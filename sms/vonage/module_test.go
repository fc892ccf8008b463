package vonage

import (
	"context"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestVonageCaddyfileAndProvision(t *testing.T) {
	var p Vonage
	caddysmstest.Parsed(t, &p, "vonage {\n api_key a1b2c3d4\n api_secret {env.X}\n from MyBrand\n timeout 2s\n}")
	if p.APIKey != "a1b2c3d4" || p.APISecret != "{env.X}" || p.From != "MyBrand" {
		t.Errorf("parsed %+v", p)
	}
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Vonage) }, caddysmstest.OptionErrors("vonage", "from", "sender"))
	t.Setenv("VONAGE_TEST_SECRET", "s3cret")
	caddysmstest.ProvisionErrors(t, func() Vonage { return Vonage{APIKey: "a1b2c3d4", APISecret: "{env.VONAGE_TEST_SECRET}", From: "B"} }, []caddysmstest.ProvisionCase[*Vonage]{
		{Name: "ok", Edit: func(*Vonage) {}},
		{Name: "no key", Edit: func(p *Vonage) { p.APIKey = "" }, WantErr: "api_key is required"},
		{Name: "no secret", Edit: func(p *Vonage) { p.APISecret = "{env.VONAGE_TEST_UNSET}" }, WantErr: "api_secret is required"},
		{Name: "no sender", Edit: func(p *Vonage) { p.From = "" }, WantErr: "from is required"},
		{Name: "bad endpoint", Edit: func(p *Vonage) { p.Endpoint = "https://u:s3cret@rest.nexmo.com" }, WantErr: "credentials"},
	})
}

func TestVonageSendRefusal(t *testing.T) {
	srv := fakegw.NewReply(t, 200, `{"message-count":"1","messages":[{"status":"3","error-text":"Invalid to number 12015550123"}]}`)
	p := Vonage{APIKey: "a1b2c3d4", APISecret: "s", From: "B", Endpoint: srv.URL()}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	caddysmstest.Refused(t, &p, "vonage", func(e *sms.Error) bool { return e.Code == "3" })
	ok := fakegw.NewReply(t, 200, `{"message-count":"2","messages":[{"status":"0","message-id":"A"},{"status":"0","message-id":"B"}]}`)
	p = Vonage{APIKey: "a1b2c3d4", APISecret: "s", From: "B", Endpoint: ok.URL()}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Send(context.Background(), sms.Message{Phone: "+12015550123", Text: "t"}); err != nil || res.ID != "A,B" || res.Remote {
		t.Errorf("Send = %+v, %v", res, err)
	}
}

// TestVonageLogsNoSecrets sends with Debug logs on, accepted and refused, and
// finds no secret, code or whole phone in what is logged or returned.
func TestVonageLogsNoSecrets(t *testing.T) {
	const secret = "s3cret-value"
	caddysmstest.LogsNoSecrets(t, "vonage", secret,
		func(endpoint string) *Vonage {
			return &Vonage{APIKey: "a1b2c3d4", APISecret: secret, From: "B", Endpoint: endpoint}
		},
		func(p *Vonage, l *zap.Logger) { p.logger = l },
		`{"message-count":"1","messages":[{"status":"0","message-id":"A"}]}`,
		`{"message-count":"1","messages":[{"status":"6","error-text":"Invalid message `+caddysmstest.Code+` to 12015550123"}]}`)
}
