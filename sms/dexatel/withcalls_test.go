package dexatel

import (
	"context"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/twilio"
)

// TestWithCalls: texts go to the first provider with the code phone_otp
// made; calls go to the second, here Twilio Verify, which makes and
// checks its own code, and Check asks it with what it reported.
func TestWithCalls(t *testing.T) {
	dex := fakegw.NewDexatel(t)
	g := fakegw.NewGateways(t)
	text := &Dexatel{APIKey: fakegw.DexatelKey, Sender: fakegw.DexatelSender, Template: fakegw.DexatelTemplate, Endpoint: dex.URL()}
	if err := provisionDexatel(t, text); err != nil {
		t.Fatal(err)
	}
	call := &twilio.TwilioVerify{TwilioAuth: twilio.TwilioAuth{AccountSID: fakegw.TwilioAccount, AuthToken: fakegw.TwilioToken},
		ServiceSID: fakegw.TwilioService, Endpoint: g.URL()}
	ctx, cancel := caddyContext()
	defer cancel()
	if err := call.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	w := sms.WithCalls(text, call)
	rc := w.(sms.RemoteChecker)
	if rc.ChecksRemotely() || !sms.CanCall(w) {
		t.Errorf("ChecksRemotely %v, CanCall %v: want false, true", rc.ChecksRemotely(), sms.CanCall(w))
	}
	if lo, hi := w.(sms.CodeLengthLimiter).CodeLengthRange(); lo != 4 || hi != 8 {
		t.Errorf("code lengths %d..%d, want dexatel's and twilio's in common, 4..8", lo, hi)
	}
	const phone = "+12015550123"
	res, err := w.Send(context.Background(), sms.Message{Phone: phone, Code: "123456", CodeLength: 6, Text: "x"})
	if err != nil || res.Remote {
		t.Fatalf("text: %+v %v", res, err)
	}
	if dex.ReadCode(t, phone) != "123456" {
		t.Error("the text did not carry phone_otp's code")
	}
	res, err = w.Send(context.Background(), sms.Message{Phone: phone, Code: "654321", CodeLength: 6, Text: "x", Channel: sms.ChannelCall})
	if err != nil || !res.Remote || !strings.HasPrefix(res.Ref, "call/") {
		t.Fatalf("call: %+v %v", res, err)
	}
	if got := strings.Join(g.VerifyChannels(phone), " "); got != "call" {
		t.Errorf("Verify channels %q, want call", got)
	}
	code := g.ReadCode(t, phone)
	if ok, err := rc.Check(context.Background(), phone, code, res.Ref); !ok || err != nil {
		t.Errorf("check of the called code: %v %v", ok, err)
	}
	if len(dex.Checks()) != 0 {
		t.Errorf("the call's check went to Dexatel: %v", dex.Checks())
	}
	// A ref of the texting member, or of no member (from before `call`
	// was configured), is checked with the texting member.
	for _, ref := range []string{"sms/msg-1", "msg-1"} {
		if ok, err := rc.Check(context.Background(), phone, "123456", ref); !ok || err != nil {
			t.Errorf("check with ref %q: %v %v", ref, ok, err)
		}
	}
	if len(dex.Checks()) != 2 {
		t.Errorf("Dexatel answered %d checks, want 2", len(dex.Checks()))
	}
}

func caddyContext() (caddy.Context, context.CancelFunc) {
	return caddy.NewContext(caddy.Context{Context: context.Background()})
}
