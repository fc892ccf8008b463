package caddyotp_test

import (
	"fmt"
	"os"
	"path/filepath"
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
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	e := newEnv(t, opts{
		dex: "voice_template " + fakegw.DexatelVoiceTemplate,
		// 8 digits, so that the code cannot turn up by chance in a
		// timestamp of the log.
		otp:    "resend_after 1s\n\t\tcode_length 8",
		global: "log {\n\t\toutput file " + logFile + "\n\t}",
	})
	const phone = "+12015550140"
	a := newBrowser().here()
	a.postJSON(t, prefix+"/send", `{"phone":"`+phone+`","channel":"call"}`).wantJSON(t, 400, map[string]any{"error": "invalid_request"})
	if e.dex.Sent(phone) != 0 {
		t.Fatal("a first contact by call was made")
	}
	before := scrape(t)
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
	code := e.dex.ReadCode(t, phone)
	a.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})

	// The metrics tell the call from the text.
	after := scrape(t)
	for _, ch := range []string{"default", "call"} {
		series := `caddy_phone_otp_codes_sent_total{channel="` + ch + `",provider="dexatel"}`
		if d := after[series] - before[series]; d != 1 {
			t.Errorf("%s went up by %v, want 1", series, d)
		}
	}

	// The audit log tells the call from the text, and holds no code.
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	sends := 0
	for _, line := range strings.Split(string(logs), "\n") {
		if strings.Contains(line, `"msg":"send"`) && strings.Contains(line, `"outcome":"sent"`) && strings.Contains(line, "0140") {
			sends++
			if n := strings.Count(line, `"channel":"call"`); n != sends-1 {
				t.Errorf("send line %d says channel call %d times: %s", sends, n, line)
			}
		}
		if strings.Contains(line, code) {
			t.Errorf("a log line holds the code: %s", line)
		}
	}
	if sends != 2 {
		t.Errorf("%d audit lines for the text and the call, want 2:\n%s", sends, logs)
	}
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
