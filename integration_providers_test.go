package caddyotp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// newProviderEnv runs Caddy with the fake gateways and the provider
// block that block makes for their URL.
func newProviderEnv(t *testing.T, block func(string) string, otp string) (*env, *fakegw.Gateways) {
	t.Helper()
	gw := fakegw.NewGateways(t)
	return newEnv(t, opts{sms: block(gw.URL()), otp: otp}), gw
}

// TestIntegrationProviders walks the whole flow through each provider:
// the SMS, a wrong code, the right one and the protected app; then every
// way the gateway can fail on send, each a 502 sms_failed that costs the
// visitor nothing.
func TestIntegrationProviders(t *testing.T) {
	providers := []struct {
		name  string
		block func(string) string
	}{
		{"twilio", twilioBlock},
		{"twilio_verify", twilioVerifyBlock},
		{"vonage", vonageBlock},
		{"webhook", webhookBlock},
	}
	for i, p := range providers {
		t.Run(p.name, func(t *testing.T) { walkProvider(t, p.name, p.block, 200+10*i) })
	}
}

// walkProvider runs the flow through one provider against the fake
// gateways, on phones +1201555<base>…<base+4>.
func walkProvider(t *testing.T, name string, block func(string) string, base int) {
	t.Helper()
	_, gw := newProviderEnv(t, block, "message \"{code} is your {host} code, valid {minutes} min.\"")
	b := newBrowser()
	phone := fmt.Sprintf("+1201555%04d", base)

	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`","return":"/app"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	code := gw.ReadCode(t, phone)
	if name != "twilio_verify" {
		want := code + " is your localhost code, valid 5 min.\n\n@localhost #" + code
		if got := gw.LastText(phone); got != want {
			t.Errorf("SMS %q, want %q", got, want)
		}
	}
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 200, map[string]any{"status": "verified", "return": "/app"})
	if got := b.get(t, "/app").echo(t).Headers["X-Verified-Phone"]; len(got) != 1 || got[0] != phone {
		t.Errorf("upstream X-Verified-Phone %q", got)
	}

	// Every failure on send is a 502. A refusal (the API's own
	// 4xx, or Vonage's refusal in a 200) costs nothing, so the
	// phone may send again at once; the others may have texted the
	// code, so they count and the phone waits.
	for j, mode := range []string{"refuse", "5xx", "garbage", "hang"} {
		phone := fmt.Sprintf("+1201555%04d", base+1+j)
		gw.Set(mode)
		start := time.Now()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: send took %s with a 300ms timeout", mode, d)
		}
		if n := gw.Sent(phone); n != 0 {
			t.Fatalf("%s: %d SMS delivered", mode, n)
		}
		gw.Set("")
		r := b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`)
		if mode != "refuse" {
			r.wantJSON(t, 429, map[string]any{"error": "rate_limited"})
			continue
		}
		r.wantJSON(t, 200, map[string]any{"status": "sent"})
		b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(gw.ReadCode(t, phone))+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})
	}
}

// TestIntegrationTwilioVerifyCheck covers what only a remote check has:
// Twilio failing while checking, and Twilio no longer knowing the code.
func TestIntegrationTwilioVerifyCheck(t *testing.T) {
	_, gw := newProviderEnv(t, twilioVerifyBlock, "")
	b := newBrowser()
	const phone = "+12015550300"
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	code := gw.ReadCode(t, phone)
	for _, mode := range []string{"refuse", "5xx", "garbage", "hang"} {
		gw.Set(mode)
		if mode == "refuse" { // 429 60202: Twilio checks no more codes of it
			b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 429, map[string]any{"error": "too_many_checks"})
			continue
		}
		b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	}
	gw.Set("")
	// Four failed checks cost no attempt: the first wrong code leaves two.
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})
	// Expired or used on Twilio's side (404, 20404): a wrong code.
	gw.ExpireVerify(phone)
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 1})
}

// TestIntegrationFailover sends through a failing first provider to the
// second, and has a code that Twilio Verify made checked by Twilio
// Verify, also after a reload (the provider instances are new, as they
// would be on another Caddy sharing the store).
func TestIntegrationFailover(t *testing.T) {
	gw := fakegw.NewGateways(t)
	down := fakegw.NewGateways(t)
	down.Set("5xx")
	failover := func(blocks ...string) string {
		return "sms failover {\n" + strings.Join(blocks, "\n") + "\n}"
	}

	t.Run("first fails, second sends", func(t *testing.T) {
		newEnv(t, opts{sms: failover(twilioBlock(down.URL()), vonageBlock(gw.URL()))})
		b := newBrowser()
		const phone = "+12015550400"
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		b.postJSON(t, prefix+"/verify", `{"code":"`+gw.ReadCode(t, phone)+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	})

	t.Run("all fail", func(t *testing.T) {
		newEnv(t, opts{sms: failover(twilioBlock(down.URL()), webhookBlock(down.URL()))})
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"+12015550401"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	})

	t.Run("remote member checks its own code", func(t *testing.T) {
		o := opts{sms: failover(twilioVerifyBlock(down.URL()), twilioVerifyBlock(gw.URL()), twilioBlock(gw.URL()))}
		e := newEnv(t, o)
		b := newBrowser()
		const phone = "+12015550402"
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		code := gw.ReadCode(t, phone)
		b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})
		e.load(t, o)
		b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
		checks := gw.Checks()
		if checks != 2 {
			t.Errorf("Twilio Verify answered %d checks, want 2", checks)
		}
	})

	t.Run("mixed: the local member's code is checked locally", func(t *testing.T) {
		newEnv(t, opts{sms: failover(twilioVerifyBlock(down.URL()), twilioBlock(gw.URL()))})
		b := newBrowser()
		const phone = "+12015550403"
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		before := gw.Checks()
		b.postJSON(t, prefix+"/verify", `{"code":"`+gw.ReadCode(t, phone)+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
		if gw.Checks() != before {
			t.Error("a code phone_otp made was checked with Twilio Verify")
		}
	})
}

func TestIntegrationProviderFailure(t *testing.T) {
	e := newEnv(t, opts{dex: "timeout 300ms"})
	const phone = "+12015550131"
	b := newBrowser()

	e.dex.Set("fail")
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	if e.dex.LastStatus() != 500 {
		t.Fatalf("fake Dexatel was not called")
	}
	e.dex.Set("")
	// A 500 may have texted the code: the send counts, resend wait too.
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
	admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+phone+`"}`).wantStatus(t, 200)
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(e.dex.ReadCode(t, phone))+`"}`).
		wantJSON(t, 401, map[string]any{"attempts_left": 2})

	t.Run("hanging provider times out", func(t *testing.T) {
		const phone = "+12015550132"
		e.dex.Set("hang")
		start := time.Now()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
		if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
			t.Errorf("send took %s with a 300ms provider timeout", d)
		}
		e.dex.Set("")
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
	})
	t.Run("revoked API key", func(t *testing.T) {
		e.dex.SetKey("rotated")
		b.postJSON(t, prefix+"/send", `{"phone":"+12015550133"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
		if e.dex.LastStatus() != 401 {
			t.Errorf("fake Dexatel answered %d, want 401 for the wrong key", e.dex.LastStatus())
		}
		e.dex.SetKey(fakegw.DexatelKey)
		// A 401 is a definite refusal: it cost nothing.
		b.postJSON(t, prefix+"/send", `{"phone":"+12015550133"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	})
}

func TestIntegrationRemoteCheck(t *testing.T) {
	e := newEnv(t, opts{dex: "check remote"})
	const phone = "+12015550134"
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`","return":"/app"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	code := e.dex.ReadCode(t, phone)
	if len(code) != 6 {
		t.Fatalf("Dexatel made a %d-digit code, want 6", len(code))
	}
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})
	e.dex.Set("fail")
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	e.dex.Set("")
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(wrong(code))+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 1})
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 200, map[string]any{"status": "verified", "return": "/app"})
	checks := strings.Join(e.dex.Checks(), ",")
	if !strings.Contains(checks, "12015550134 "+code) {
		t.Errorf("Dexatel was not asked about the code: checks %q", checks)
	}
	if got := b.get(t, "/app").echo(t).Headers["X-Verified-Phone"]; len(got) != 1 || got[0] != phone {
		t.Errorf("upstream X-Verified-Phone %q", got)
	}
}
