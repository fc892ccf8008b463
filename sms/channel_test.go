package sms

import (
	"context"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

func TestVoiceTextReadsTheDigitsSlowlyTwice(t *testing.T) {
	if got := SpokenCode("4071"); got != "4, 0, 7, 1" {
		t.Errorf("SpokenCode = %q", got)
	}
	want := "Your verification code for app.example.com is: 1, 2, 3, 4, 5, 6. I repeat: 1, 2, 3, 4, 5, 6."
	if got := VoiceText("123456", "app.example.com"); got != want {
		t.Errorf("VoiceText = %q, want %q", got, want)
	}
}

func TestCanCallAndOffersCall(t *testing.T) {
	for _, tt := range []struct {
		p           Provider
		can, offers bool
	}{
		{&Log{}, true, true},
		{&Dexatel{channel: "SMS"}, false, false},
		{&Dexatel{channel: "SMS", voiceTemplate: "tpl-voice"}, true, true},
		{&Dexatel{channel: "VOICE"}, true, false},
		{&TwilioVerify{channel: "sms"}, true, true},
		{&TwilioVerify{channel: "whatsapp"}, true, true},
		{&TwilioVerify{channel: "call"}, true, false},
		{&Twilio{}, false, false},
	} {
		if got := CanCall(tt.p); got != tt.can {
			t.Errorf("CanCall(%T %+v) = %v, want %v", tt.p, tt.p, got, tt.can)
		}
		if got := OffersCall(tt.p); got != tt.offers {
			t.Errorf("OffersCall(%T %+v) = %v, want %v", tt.p, tt.p, got, tt.offers)
		}
	}
}

// TestDexatelChannelsThroughTheFake: the configured channel, and for a
// call the VOICE channel with the voice template, reach the fake Dexatel
// as its API expects them.
func TestDexatelChannelsThroughTheFake(t *testing.T) {
	f := fakegw.NewDexatel(t)
	p := &Dexatel{APIKey: fakegw.DexatelKey, Sender: fakegw.DexatelSender, Template: "tpl-viber", Channel: "viber",
		VoiceTemplate: fakegw.DexatelVoiceTemplate, Endpoint: f.URL()}
	if err := provisionDexatel(t, p); err != nil {
		t.Fatal(err)
	}
	if !p.CanCall() {
		t.Error("dexatel with a voice_template cannot call")
	}
	ctx := context.Background()
	for _, ch := range []string{ChannelDefault, ChannelCall} {
		if _, err := p.Send(ctx, Message{Phone: "+12015550123", Code: "123456", CodeLength: 6, Channel: ch}); err != nil {
			t.Fatalf("send on %q: %v", ch, err)
		}
	}
	if got := strings.Join(f.Channels("+12015550123"), " "); got != "VIBER VOICE" {
		t.Errorf("channels %q, want VIBER VOICE", got)
	}

	// Without a voice template, a call is refused before any request.
	q := &Dexatel{APIKey: fakegw.DexatelKey, Sender: fakegw.DexatelSender, Template: fakegw.DexatelTemplate, Endpoint: f.URL()}
	if err := provisionDexatel(t, q); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Send(ctx, Message{Phone: "+12015550124", Code: "123456", Channel: ChannelCall}); err == nil || !Definite(err) {
		t.Errorf("call without voice_template: %v, want a definite refusal", err)
	}
	if f.Sent("+12015550124") != 0 {
		t.Error("a call without voice_template reached Dexatel")
	}
}

func TestDexatelChannelOptions(t *testing.T) {
	base := func() Dexatel {
		return Dexatel{APIKey: "k", Sender: "S", Template: "t"}
	}
	provisionErrors(t, base, []provisionCase[*Dexatel]{
		{"sms", func(*Dexatel) {}, ""},
		{"whatsapp, lower case", func(p *Dexatel) { p.Channel = "whatsapp" }, ""},
		{"telegram", func(p *Dexatel) { p.Channel = "TELEGRAM" }, ""},
		{"unknown", func(p *Dexatel) { p.Channel = "PIGEON" }, "channel must be one of SMS, VIBER, WHATSAPP, VOICE, TELEGRAM"},
		{"voice template on voice", func(p *Dexatel) { p.Channel, p.VoiceTemplate = "VOICE", "v" }, "voice_template is for calls"},
	})
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Dexatel) }, []caddyfileCase{
		{"bad channel", "dexatel {\n api_key k\n channel fax\n}", "channel must be one of"},
		{"voice template twice", "dexatel {\n voice_template a\n voice_template b\n}", "already specified"},
	})
}

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
	for _, ch := range []string{ChannelDefault, ChannelCall} {
		if _, err := p.Send(context.Background(), Message{Phone: "+12015550123", CodeLength: 6, Channel: ch}); err != nil {
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
	provisionErrors(t, base, []provisionCase[*TwilioVerify]{
		{"call", func(p *TwilioVerify) { p.Channel = "call" }, ""},
		{"email", func(p *TwilioVerify) { p.Channel = "email" }, "channel must be one of sms, call, whatsapp"},
	})
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(TwilioVerify) }, []caddyfileCase{
		{"bad channel", "twilio_verify {\n channel voice\n}", "channel must be one of sms, call, whatsapp"},
	})
	var p TwilioVerify
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("twilio_verify {\n channel whatsapp\n}")); err != nil || p.Channel != "whatsapp" {
		t.Errorf("channel whatsapp: %v, %q", err, p.Channel)
	}
}
