package caddyotp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// TestCallsEndToEnd: through a real Caddy, "channel":"call" waits for
// resend_after like a new code; then Dexatel, with a voice_template,
// calls on its VOICE channel with the voice template, and the code it
// reads signs in. A call to a number this browser has no code on its way
// to is refused, and nothing is sent.
func TestCallsEndToEnd(t *testing.T) {
	e := newEnv(t, opts{dex: "voice_template " + fakegw.DexatelVoiceTemplate, otp: "resend_after 1s"})
	const phone = "+12015550140"
	a := newBrowser().here()
	a.postJSON(t, prefix+"/send", `{"phone":"`+phone+`","channel":"call"}`).wantJSON(t, 400, map[string]any{"error": "invalid_request"})
	if e.dex.Sent(phone) != 0 {
		t.Fatal("a first contact by call was made")
	}
	a.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent", "channel": "sms"})
	a.postJSON(t, prefix+"/resend", `{"channel":"call"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
	time.Sleep(1100 * time.Millisecond)
	a.postJSON(t, prefix+"/resend", `{"channel":"call"}`).wantJSON(t, 200, map[string]any{"status": "sent", "channel": "call"})
	if got := strings.Join(e.dex.Channels(phone), " "); got != "SMS VOICE" {
		t.Fatalf("Dexatel channels %q, want SMS VOICE", got)
	}
	page := a.get(t, prefix+"/verify?called=1", "Accept", "text/html")
	if !strings.Contains(page.text(), "We're calling +1******0140 now.") {
		t.Errorf("code page after the call: %.800s", page.text())
	}
	a.postJSON(t, prefix+"/verify", `{"code":"`+e.dex.ReadCode(t, phone)+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
}

// TestCallProviderEndToEnd: `call twilio_verify {…}` makes the calls
// while Dexatel texts: Verify is asked with Channel=call, makes its own
// code, and checks it.
func TestCallProviderEndToEnd(t *testing.T) {
	gw := fakegw.NewGateways(t)
	call := strings.Replace(twilioVerifyBlock(gw.URL()), "sms twilio_verify", "call twilio_verify", 1)
	e := newEnv(t, opts{otp: call + "\n\t\tresend_after 1s"})
	const phone = "+12015550141"
	a := newBrowser().here()
	a.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	texted := e.dex.ReadCode(t, phone)
	time.Sleep(1100 * time.Millisecond)
	a.postJSON(t, prefix+"/send", fmt.Sprintf(`{"phone":%q,"channel":"call"}`, phone)).wantJSON(t, 200, map[string]any{"channel": "call"})
	if got := strings.Join(gw.VerifyChannels(phone), " "); got != "call" {
		t.Fatalf("Verify channels %q, want call", got)
	}
	if e.dex.Sent(phone) != 1 {
		t.Errorf("Dexatel sent %d codes, want only the text", e.dex.Sent(phone))
	}
	called := gw.ReadCode(t, phone)
	if called != texted {
		a.postJSON(t, prefix+"/verify", `{"code":"`+texted+`"}`).wantJSON(t, 401, map[string]any{"error": "invalid_code"})
	}
	a.postJSON(t, prefix+"/verify", `{"code":"`+called+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	if gw.Checks() == 0 {
		t.Error("the called code was not checked with Twilio Verify")
	}
}
