package caddyotp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// TestIntegrationSlowGatewayPumping is issue 13's point 2: a gateway that
// takes the SMS and answers after the plugin's timeout. Each send's
// outcome is unknown, so each counts: with limit_ip 2, of six sends from
// one client only two reach the gateway.
func TestIntegrationSlowGatewayPumping(t *testing.T) {
	gw := fakegw.NewSlow(t)
	gw.Set("hang")
	newEnv(t, opts{sms: slowBlock(gw, "150ms"), otp: "limit_ip 2"})
	b := newBrowser()
	for i := range 6 {
		b.postJSON(t, prefix+"/send", fmt.Sprintf(`{"phone":"+1201555%04d"}`, 600+i))
	}
	if n := gw.Reached(); n > 2 {
		t.Errorf("%d SMS reached the gateway from one client with limit_ip 2", n)
	}
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550610"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
}

// TestIntegrationUnknownOutcomesCount: a 5xx, a reset and a garbled
// answer each count against the phone's window too (its resend wait).
func TestIntegrationUnknownOutcomesCount(t *testing.T) {
	gw := fakegw.NewSlow(t)
	newEnv(t, opts{sms: slowBlock(gw, "150ms")})
	b := newBrowser()
	for i, mode := range []string{"5xx", "reset", "garbage", "hang"} {
		phone := fmt.Sprintf("+1201555%04d", 620+i)
		gw.Set(mode)
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
		gw.Set("")
		got := b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
		if got["retry_after"] == nil {
			t.Errorf("%s: no retry_after", mode)
		}
	}
}

// TestIntegrationDefiniteRefusalRefunded: a gateway's 4xx and a refused
// connection are definite refusals before delivery, so they cost nothing:
// after four of them the client still has both slots of limit_ip 2, and
// the phone no resend wait.
func TestIntegrationDefiniteRefusalRefunded(t *testing.T) {
	gw := fakegw.NewSlow(t)
	closed := fakegw.Closed()
	const phone = "+12015550630"
	e := newEnv(t, opts{sms: slowBlock(gw, "300ms"), otp: "limit_ip 2"})
	b := newBrowser()
	gw.Set("refuse")
	for range 3 {
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	}
	e.load(t, opts{sms: fmt.Sprintf("sms webhook {\n\t\t\turl %s%s\n\t\t}", closed, fakegw.SlowPath), otp: "limit_ip 2"})
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	e.load(t, opts{sms: slowBlock(gw, "300ms"), otp: "limit_ip 2"})
	gw.Set("")
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	b.postJSON(t, prefix+"/verify", `{"code":"`+gw.CodeFor(t, phone)+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550631"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550632"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
}

// TestIntegrationFailoverAttemptsCountGlobal: each failover member that
// may have sent the SMS costs one of limit_global; one that definitely
// refused it costs nothing.
func TestIntegrationFailoverAttemptsCountGlobal(t *testing.T) {
	first, second := fakegw.NewSlow(t), fakegw.NewSlow(t)
	sms := "sms failover {\n" + slowBlock(first, "150ms") + "\n" + slowBlock(second, "300ms") + "\n}"
	newEnv(t, opts{sms: sms, otp: "limit_global 3"})

	// A first member that refuses (400): the send costs one.
	first.Set("refuse")
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"+12015550640"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	// A first member that takes the SMS and times out: two.
	first.Set("hang")
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"+12015550641"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"+12015550642"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
	if n := first.Reached() + second.Reached(); n != 3 {
		t.Errorf("the gateways took %d SMS, want 3", n)
	}
}

// TestIntegrationProviderErrorsHideCodeAndPhone is issue 13's point 3:
// every provider fails in every way, in a failover whose last member
// delivers (so the code is live and then verifies) and in one where all
// fail; no line of Caddy's log at DEBUG, access log included, holds a
// code or a phone's digits.
func TestIntegrationProviderErrorsHideCodeAndPhone(t *testing.T) {
	dir := t.TempDir()
	caddyLog, accessLog := filepath.Join(dir, "caddy.log"), filepath.Join(dir, "access.log")
	hook, last := fakegw.NewSlow(t), fakegw.NewSlow(t)
	gws := fakegw.NewGateways(t)
	members := []string{
		slowBlock(hook, "150ms"),
		twilioBlock(gws.URL()),
		vonageBlock(gws.URL()),
		webhookBlock(gws.URL()),
	}
	o := func(withLast bool) opts {
		sms := "sms failover {\n" + strings.Join(members, "\n")
		if withLast {
			sms += "\n" + slowBlock(last, "300ms")
		}
		return opts{
			global: fmt.Sprintf("log {\n\t\toutput file %s\n\t\tlevel DEBUG\n\t}", caddyLog),
			site:   fmt.Sprintf("log {\n\t\toutput file %s\n\t}", accessLog),
			sms:    sms + "\n}",
			// 8 digits, so a code cannot turn up by chance.
			otp: "code_length 8\n\t\tlimit_ip 100",
		}
	}
	e := newEnv(t, o(true))
	var phones []string
	modes := []struct{ hook, gws string }{
		{"hang", "hang"}, {"refuse", "refuse"}, {"5xx", "5xx"}, {"garbage", "garbage"}, {"reset", "5xx"},
		// Twilio's and Vonage's errors quote the text, and so the code.
		{"refuse", "quote"},
	}
	for i, m := range modes {
		phone := fmt.Sprintf("+1201555%04d", 650+i)
		phones = append(phones, phone)
		hook.Set(m.hook)
		gws.Set(m.gws)
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		b.postJSON(t, prefix+"/verify", `{"code":"`+last.CodeFor(t, phone)+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	}
	e.load(t, o(false))
	for i, m := range modes {
		phone := fmt.Sprintf("+1201555%04d", 660+i)
		phones = append(phones, phone)
		hook.Set(m.hook)
		gws.Set(m.gws)
		newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	}

	var secrets []string
	for _, p := range phones {
		secrets = append(secrets, strings.TrimPrefix(p, "+"), url.PathEscape(p))
	}
	for _, g := range []*fakegw.Slow{hook, last} {
		secrets = append(secrets, g.Codes()...)
	}
	if hook.Reached() < 8 {
		t.Fatalf("the first member took %d SMS; the test did not run as meant", hook.Reached())
	}
	sawWarn, sawError := false, false
	for _, path := range []string{caddyLog, accessLog} {
		for _, line := range readLines(t, path) {
			for _, s := range secrets {
				if strings.Contains(line, s) {
					t.Errorf("%s holds %q:\n%s", filepath.Base(path), s, line)
				}
			}
			if strings.Contains(line, "/d/") {
				t.Errorf("%s holds the webhook URL's path:\n%s", filepath.Base(path), line)
			}
			sawWarn = sawWarn || strings.Contains(line, "trying the next one")
			sawError = sawError || (strings.Contains(line, `"error"`) && strings.Contains(line, "every provider failed"))
		}
	}
	if !sawWarn || !sawError {
		t.Errorf("the log lacks the failover's warnings (%v) or the failed send's error (%v)", sawWarn, sawError)
	}
}

// TestIntegrationRemoteCodeReplay is issue 13's point 5: with `check
// remote`, Dexatel lists every verification of the phone, so a code
// matches only in the verification this challenge sent: neither the code
// a resend replaced nor one already used verifies a later challenge.
func TestIntegrationRemoteCodeReplay(t *testing.T) {
	e := newEnv(t, opts{dex: "check remote"})
	// resend lifts the resend wait, as an admin's unblock does, and sends
	// phone a new code from b; it returns that code.
	resend := func(t *testing.T, b *browser, phone, old string) string {
		t.Helper()
		admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+phone+`"}`).wantStatus(t, 200)
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		code := e.dex.ReadCode(t, phone)
		if code == old {
			t.Skip("Dexatel made the same code twice")
		}
		return code
	}
	t.Run("after resend", func(t *testing.T) {
		const phone = "+12015550670"
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		replaced := e.dex.ReadCode(t, phone)
		current := resend(t, b, phone, replaced)
		b.postJSON(t, prefix+"/verify", `{"code":"`+replaced+`"}`).wantJSON(t, 401, map[string]any{"error": "invalid_code"})
		b.postJSON(t, prefix+"/verify", `{"code":"`+current+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	})
	t.Run("after use", func(t *testing.T) {
		const phone = "+12015550671"
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		used := e.dex.ReadCode(t, phone)
		b.postJSON(t, prefix+"/verify", `{"code":"`+used+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
		later := newBrowser()
		current := resend(t, later, phone, used)
		later.postJSON(t, prefix+"/verify", `{"code":"`+used+`"}`).wantJSON(t, 401, map[string]any{"error": "invalid_code"})
		later.postJSON(t, prefix+"/verify", `{"code":"`+current+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	})
}

// TestIntegrationTwilioVerifyAsPublished is issue 13's point 6: Twilio's
// OpenAPI file marks "valid" nullable and deprecated ("use status
// instead"), so an approval is a match unless valid is explicitly false;
// 60202 on a check means too many checks of this code, which the visitor
// is told (429 too_many_checks), not that a text could not be sent.
func TestIntegrationTwilioVerifyAsPublished(t *testing.T) {
	_, gw := newProviderEnv(t, twilioVerifyBlock, "")
	for i, tt := range []struct {
		valid  string
		status int
		want   map[string]any
	}{
		{"null", 200, map[string]any{"status": "verified"}},
		{"absent", 200, map[string]any{"status": "verified"}},
		{"true", 200, map[string]any{"status": "verified"}},
		{"false", 502, map[string]any{"error": "sms_failed"}},
	} {
		t.Run("valid "+tt.valid, func(t *testing.T) {
			phone := fmt.Sprintf("+1201555%04d", 680+i)
			gw.SetValid(tt.valid)
			defer gw.SetValid("")
			b := newBrowser()
			b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
			b.postJSON(t, prefix+"/verify", `{"code":"`+gw.ReadCode(t, phone)+`"}`).wantJSON(t, tt.status, tt.want)
		})
	}
	t.Run("60202 on check", func(t *testing.T) {
		const phone = "+12015550690"
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		code := gw.ReadCode(t, phone)
		gw.Set("refuse")
		got := b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 429, map[string]any{"error": "too_many_checks"})
		if msg, _ := got["message"].(string); !strings.Contains(msg, "new code") {
			t.Errorf("message %q does not tell the visitor to ask for a new code", msg)
		}
		gw.Set("")
		// Twilio's refusal cost no attempt of phone_otp's own.
		b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})
	})
}
