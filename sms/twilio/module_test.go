package twilio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestTwilioUnmarshalCaddyfile(t *testing.T) {
	var p Twilio
	err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`twilio {
		account_sid {env.TWILIO_ACCOUNT_SID}
		api_key     SK0123456789abcdef0123456789abcdef
		api_secret  {env.TWILIO_API_SECRET}
		from        +12015550100
		endpoint    https://api.twilio.com
		timeout     3s
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.AccountSID != "{env.TWILIO_ACCOUNT_SID}" || p.APIKey != "SK0123456789abcdef0123456789abcdef" || p.APISecret != "{env.TWILIO_API_SECRET}" ||
		p.From != "+12015550100" || p.Endpoint != "https://api.twilio.com" || p.Timeout != caddy.Duration(3*time.Second) {
		t.Errorf("parsed %+v", p)
	}
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Twilio) }, []caddysmstest.CaddyfileCase{
		{Name: "unknown option", Input: "twilio {\n from x\n service_sid VA0123456789abcdef0123456789abcdef\n}", Want: "Testfile:3"},
		{Name: "duplicate", Input: "twilio {\n from a\n from b\n}", Want: "already specified"},
		{Name: "missing argument", Input: "twilio {\n auth_token\n}", Want: "Testfile:2"},
		{Name: "bad timeout", Input: "twilio {\n timeout soon\n}", Want: "Testfile:2"},
		{Name: "argument after name", Input: "twilio x {\n}", Want: "Testfile:1"},
		{Name: "nested block", Input: "twilio {\n from a {\n x\n }\n}", Want: "takes no block"},
	})
}

func TestTwilioProvision(t *testing.T) {
	t.Setenv("TWILIO_TEST_TOKEN", "s3cret")
	base := func() Twilio {
		return Twilio{TwilioAuth: TwilioAuth{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "{env.TWILIO_TEST_TOKEN}"}, From: "+12015550100"}
	}
	caddysmstest.ProvisionErrors(t, base, []caddysmstest.ProvisionCase[*Twilio]{
		{Name: "token", Edit: func(*Twilio) {}},
		{Name: "api key", Edit: func(p *Twilio) {
			p.AuthToken, p.APIKey, p.APISecret = "", "SK0123456789abcdef0123456789abcdef", "s3cret"
		}},
		{Name: "messaging service", Edit: func(p *Twilio) { p.From, p.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef" }},
		{Name: "no account", Edit: func(p *Twilio) { p.AccountSID = "" }, WantErr: "account_sid is required"},
		{Name: "no credentials", Edit: func(p *Twilio) { p.AuthToken = "" }, WantErr: "credentials are required"},
		{Name: "key without secret", Edit: func(p *Twilio) { p.AuthToken, p.APIKey = "", "SK0123456789abcdef0123456789abcdef" }, WantErr: "credentials are required"},
		{Name: "token and key", Edit: func(p *Twilio) { p.APIKey, p.APISecret = "SK0123456789abcdef0123456789abcdef", "x" }, WantErr: "not both"},
		{Name: "no sender", Edit: func(p *Twilio) { p.From = "" }, WantErr: "one of from and messaging_service_sid"},
		{Name: "two senders", Edit: func(p *Twilio) { p.MessagingServiceSID = "MG0123456789abcdef0123456789abcdef" }, WantErr: "one of from and messaging_service_sid"},
		{Name: "typo placeholder", Edit: func(p *Twilio) { p.AuthToken = "{evn.TWILIO_TEST_TOKEN}" }, WantErr: "unrecognized placeholder"},
		{Name: "bad endpoint", Edit: func(p *Twilio) { p.Endpoint = "api.twilio.com" }, WantErr: "absolute http"},
		{Name: "negative timeout", Edit: func(p *Twilio) { p.Timeout = caddy.Duration(-time.Second) }, WantErr: "positive"},
	})
}

func TestTwilioSendMasksPhoneInErrors(t *testing.T) {
	srv := fakegw.NewReply(t, 400, `{"code":21211,"message":"Invalid 'To' Phone Number: +12015550123","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)
	p := Twilio{TwilioAuth: TwilioAuth{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "tok"}, From: "+12015550100", Endpoint: srv.URL()}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	_, err := p.Send(context.Background(), sms.Message{Phone: "+12015550123", Code: "123456", Text: "123456"})
	var e *sms.Error
	if !errors.As(err, &e) || e.Provider != "twilio" || e.Status != 400 || e.Code != "21211" {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "5550123") || !strings.Contains(err.Error(), "+1******0123") {
		t.Errorf("error %q does not mask the phone", err)
	}
}

// TestTwilioLogsNoSecrets sends with Debug logs on, accepted and refused, and
// finds no secret, code or whole phone in what is logged or returned.
func TestTwilioLogsNoSecrets(t *testing.T) {
	const secret = "s3cret-value"
	caddysmstest.LogsNoSecrets(t, "twilio", secret,
		func(endpoint string) *Twilio {
			return &Twilio{TwilioAuth: TwilioAuth{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: secret}, From: "+12015550100", Endpoint: endpoint}
		},
		func(p *Twilio, l *zap.Logger) { p.logger = l },
		`{"sid":"SM1","status":"queued"}`,
		`{"code":21211,"message":"Invalid 'To' Phone Number: `+caddysmstest.Phone+` for `+caddysmstest.Code+`","status":400}`)
}
