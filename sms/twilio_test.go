package sms

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
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
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Twilio) }, []caddyfileCase{
		{"unknown option", "twilio {\n from x\n service_sid VA0123456789abcdef0123456789abcdef\n}", "Testfile:3"},
		{"duplicate", "twilio {\n from a\n from b\n}", "already specified"},
		{"missing argument", "twilio {\n auth_token\n}", "Testfile:2"},
		{"bad timeout", "twilio {\n timeout soon\n}", "Testfile:2"},
		{"argument after name", "twilio x {\n}", "Testfile:1"},
		{"nested block", "twilio {\n from a {\n x\n }\n}", "takes no block"},
	})
}

func TestTwilioProvision(t *testing.T) {
	t.Setenv("TWILIO_TEST_TOKEN", "s3cret")
	base := func() Twilio {
		return Twilio{TwilioAuth: TwilioAuth{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "{env.TWILIO_TEST_TOKEN}"}, From: "+12015550100"}
	}
	provisionErrors(t, base, []provisionCase[*Twilio]{
		{"token", func(*Twilio) {}, ""},
		{"api key", func(p *Twilio) {
			p.AuthToken, p.APIKey, p.APISecret = "", "SK0123456789abcdef0123456789abcdef", "s3cret"
		}, ""},
		{"messaging service", func(p *Twilio) { p.From, p.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef" }, ""},
		{"no account", func(p *Twilio) { p.AccountSID = "" }, "account_sid is required"},
		{"no credentials", func(p *Twilio) { p.AuthToken = "" }, "credentials are required"},
		{"key without secret", func(p *Twilio) { p.AuthToken, p.APIKey = "", "SK0123456789abcdef0123456789abcdef" }, "credentials are required"},
		{"token and key", func(p *Twilio) { p.APIKey, p.APISecret = "SK0123456789abcdef0123456789abcdef", "x" }, "not both"},
		{"no sender", func(p *Twilio) { p.From = "" }, "one of from and messaging_service_sid"},
		{"two senders", func(p *Twilio) { p.MessagingServiceSID = "MG0123456789abcdef0123456789abcdef" }, "one of from and messaging_service_sid"},
		{"typo placeholder", func(p *Twilio) { p.AuthToken = "{evn.TWILIO_TEST_TOKEN}" }, "unrecognized placeholder"},
		{"bad endpoint", func(p *Twilio) { p.Endpoint = "api.twilio.com" }, "absolute http"},
		{"negative timeout", func(p *Twilio) { p.Timeout = caddy.Duration(-time.Second) }, "positive"},
	})
}

func TestTwilioSendMasksPhoneInErrors(t *testing.T) {
	srv := fakegw.NewReply(t, 400, `{"code":21211,"message":"Invalid 'To' Phone Number: +12015550123","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)
	p := Twilio{TwilioAuth: TwilioAuth{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "tok"}, From: "+12015550100", Endpoint: srv.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	_, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"})
	var e *Error
	if !errors.As(err, &e) || e.Provider != "twilio" || e.Status != 400 || e.Code != "21211" {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "5550123") || !strings.Contains(err.Error(), "+1******0123") {
		t.Errorf("error %q does not mask the phone", err)
	}
}
