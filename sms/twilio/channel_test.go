package twilio

import (
	"context"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// TestTwilioVerifyChannelsThroughTheFake: the configured channel goes to
// Verify as Channel; a call asks for Channel=call.
func TestTwilioVerifyChannelsThroughTheFake(t *testing.T) {
	g := fakegw.NewGateways(t)
	p := &TwilioVerify{TwilioAuth: TwilioAuth{AccountSID: fakegw.TwilioAccount, AuthToken: fakegw.TwilioToken},
		ServiceSID: fakegw.TwilioService, Endpoint: g.URL(), Channel: "whatsapp"}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := p.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{sms.ChannelDefault, sms.ChannelCall} {
		if _, err := p.Send(context.Background(), sms.Message{Phone: "+12015550123", CodeLength: 6, Channel: ch}); err != nil {
			t.Fatalf("send on %q: %v", ch, err)
		}
	}
	if got := strings.Join(g.VerifyChannels("+12015550123"), " "); got != "whatsapp call" {
		t.Errorf("channels %q, want whatsapp call", got)
	}
}

func TestTwilioVerifyChannelOptions(t *testing.T) {
	base := func() TwilioVerify {
		return TwilioVerify{TwilioAuth: TwilioAuth{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "t"}, ServiceSID: "VA0123456789abcdef0123456789abcdef"}
	}
	caddysmstest.ProvisionErrors(t, base, []caddysmstest.ProvisionCase[*TwilioVerify]{
		{Name: "call", Edit: func(p *TwilioVerify) { p.Channel = "call" }},
		{Name: "email", Edit: func(p *TwilioVerify) { p.Channel = "email" }, WantErr: "channel must be one of sms, call, whatsapp"},
	})
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(TwilioVerify) }, []caddysmstest.CaddyfileCase{
		{Name: "bad channel", Input: "twilio_verify {\n channel voice\n}", Want: "channel must be one of sms, call, whatsapp"},
	})
	var p TwilioVerify
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("twilio_verify {\n channel whatsapp\n}")); err != nil || p.Channel != "whatsapp" {
		t.Errorf("channel whatsapp: %v, %q", err, p.Channel)
	}
}

func TestTwilioCanCallAndOffersCall(t *testing.T) {
	for _, tt := range []struct {
		p           sms.Provider
		can, offers bool
	}{
		{&TwilioVerify{channel: "sms"}, true, true},
		{&TwilioVerify{channel: "whatsapp"}, true, true},
		{&TwilioVerify{channel: "call"}, true, false},
		{&Twilio{}, false, false},
	} {
		if got := sms.CanCall(tt.p); got != tt.can {
			t.Errorf("CanCall(%T %+v) = %v, want %v", tt.p, tt.p, got, tt.can)
		}
		if got := sms.OffersCall(tt.p); got != tt.offers {
			t.Errorf("OffersCall(%T %+v) = %v, want %v", tt.p, tt.p, got, tt.offers)
		}
	}
}
