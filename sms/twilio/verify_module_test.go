package twilio

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestTwilioVerifyProvision(t *testing.T) {
	t.Setenv("TWILIO_TEST_TOKEN", "s3cret")
	base := func() TwilioVerify {
		return TwilioVerify{TwilioAuth: TwilioAuth{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "{env.TWILIO_TEST_TOKEN}"}, ServiceSID: "VA0123456789abcdef0123456789abcdef"}
	}
	caddysmstest.ProvisionErrors(t, base, []caddysmstest.ProvisionCase[*TwilioVerify]{
		{Name: "token", Edit: func(*TwilioVerify) {}},
		{Name: "api key without account", Edit: func(p *TwilioVerify) {
			p.AccountSID, p.AuthToken, p.APIKey, p.APISecret = "", "", "SK0123456789abcdef0123456789abcdef", "x"
		}},
		{Name: "token without account", Edit: func(p *TwilioVerify) { p.AccountSID = "" }, WantErr: "auth_token needs account_sid"},
		{Name: "no service", Edit: func(p *TwilioVerify) { p.ServiceSID = "" }, WantErr: "service_sid is required"},
		{Name: "bad endpoint", Edit: func(p *TwilioVerify) { p.Endpoint = "ftp://verify.twilio.com" }, WantErr: "absolute http"},
	})
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(TwilioVerify) }, []caddysmstest.CaddyfileCase{
		{Name: "unknown option", Input: "twilio_verify {\n service_sid VA0123456789abcdef0123456789abcdef\n from x\n}", Want: "Testfile:3"},
		{Name: "duplicate", Input: "twilio_verify {\n service_sid a\n service_sid b\n}", Want: "already specified"},
	})
}

func TestTwilioVerifySendAndCheck(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		match   bool
		wantErr bool
	}{
		{"approved", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved","valid":true}`, true, false},
		{"pending", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"pending","valid":false}`, false, false},
		{"gone", 404, `{"code":20404,"message":"not found","status":404}`, false, false},
		{"approved, valid null", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved","valid":null}`, true, false},
		{"approved, no valid", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved"}`, true, false},
		{"approved, valid false", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved","valid":false}`, false, true},
		{"too many checks", 429, `{"code":60202,"message":"Max check attempts reached","status":429}`, false, true},
		{"Twilio's send limit", 429, `{"code":60203,"message":"Max send attempts reached","status":429}`, false, true},
		{"down", 503, ``, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.NewReply(t, tt.status, tt.body)
			p := TwilioVerify{TwilioAuth: TwilioAuth{APIKey: "SK0123456789abcdef0123456789abcdef", APISecret: "x"}, ServiceSID: "VA0123456789abcdef0123456789abcdef", Endpoint: srv.URL()}
			if err := caddysmstest.Provision(t, &p); err != nil {
				t.Fatal(err)
			}
			if !p.ChecksRemotely() {
				t.Error("ChecksRemotely is false")
			}
			ok, err := p.Check(context.Background(), "+12015550123", "123456", "")
			if ok != tt.match || (err != nil) != tt.wantErr || (err != nil && !sms.IsError(err)) {
				t.Errorf("Check = %v, %v", ok, err)
			}
			if err != nil && strings.Contains(err.Error(), "123456") {
				t.Errorf("error %q holds the code", err)
			}
			if errors.Is(err, sms.ErrTooManyChecks) != strings.Contains(tt.body, "60202") {
				t.Errorf("Check error %v: ErrTooManyChecks %v", err, errors.Is(err, sms.ErrTooManyChecks))
			}
		})
	}
	srv := fakegw.NewReply(t, 201, `{"sid":"VE0123456789abcdef0123456789abcde9","status":"pending","valid":false}`)
	p := TwilioVerify{TwilioAuth: TwilioAuth{APIKey: "SK0123456789abcdef0123456789abcdef", APISecret: "x"}, ServiceSID: "VA0123456789abcdef0123456789abcdef", Endpoint: srv.URL()}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	res, err := p.Send(context.Background(), sms.Message{Phone: "+12015550123", CodeLength: 6})
	if err != nil || res.ID != "VE0123456789abcdef0123456789abcde9" || !res.Remote {
		t.Errorf("Send = %+v, %v", res, err)
	}
	if lo, hi := p.CodeLengthRange(); lo != 4 || hi != 10 {
		t.Errorf("CodeLengthRange = %d, %d", lo, hi)
	}
}
