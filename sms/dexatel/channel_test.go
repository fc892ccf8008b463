package dexatel

import (
	"context"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

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
	for _, ch := range []string{sms.ChannelDefault, sms.ChannelCall} {
		if _, err := p.Send(ctx, sms.Message{Phone: "+12015550123", Code: "123456", CodeLength: 6, Channel: ch}); err != nil {
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
	if _, err := q.Send(ctx, sms.Message{Phone: "+12015550124", Code: "123456", Channel: sms.ChannelCall}); err == nil || !sms.Definite(err) {
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
	caddysmstest.ProvisionErrors(t, base, []caddysmstest.ProvisionCase[*Dexatel]{
		{Name: "sms", Edit: func(*Dexatel) {}},
		{Name: "whatsapp, lower case", Edit: func(p *Dexatel) { p.Channel = "whatsapp" }},
		{Name: "telegram", Edit: func(p *Dexatel) { p.Channel = "TELEGRAM" }},
		{Name: "unknown", Edit: func(p *Dexatel) { p.Channel = "PIGEON" }, WantErr: "channel must be one of SMS, VIBER, WHATSAPP, VOICE, TELEGRAM"},
		{Name: "voice template on voice", Edit: func(p *Dexatel) { p.Channel, p.VoiceTemplate = "VOICE", "v" }, WantErr: "voice_template is for calls"},
	})
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Dexatel) }, []caddysmstest.CaddyfileCase{
		{Name: "bad channel", Input: "dexatel {\n api_key k\n channel fax\n}", Want: "channel must be one of"},
		{Name: "voice template twice", Input: "dexatel {\n voice_template a\n voice_template b\n}", Want: "already specified"},
	})
}

func TestDexatelCanCallAndOffersCall(t *testing.T) {
	for _, tt := range []struct {
		p           sms.Provider
		can, offers bool
	}{
		{&Dexatel{channel: "SMS"}, false, false},
		{&Dexatel{channel: "SMS", voiceTemplate: "tpl-voice"}, true, true},
		{&Dexatel{channel: "VOICE"}, true, false},
	} {
		if got := sms.CanCall(tt.p); got != tt.can {
			t.Errorf("CanCall(%T %+v) = %v, want %v", tt.p, tt.p, got, tt.can)
		}
		if got := sms.OffersCall(tt.p); got != tt.offers {
			t.Errorf("OffersCall(%T %+v) = %v, want %v", tt.p, tt.p, got, tt.offers)
		}
	}
}
