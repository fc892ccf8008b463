package caddyotp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// slowGateway is an HTTP SMS gateway as an attacker meets it: it takes
// every SMS it is sent, codes in the URL path (/d/{phone}/{code}), and
// then answers as its mode says: "" 200, "refuse" 400, "5xx" 503, "hang"
// (holds the answer past the plugin's timeout), "garbage" (no HTTP at
// all) or "reset" (closes the connection once it read the request).
type slowGateway struct {
	fakeServer
	mode  string
	taken []string // "phone code" of every SMS taken, oldest first
	codes []string // every code it was sent, taken or refused
}

var gwPath = regexp.MustCompile(`^/d/(\+[0-9]+)/([0-9]+)$`)

func newSlowGateway(t *testing.T) *slowGateway {
	g := &slowGateway{}
	g.start(t, "slow gateway", g.serve)
	return g
}

func (g *slowGateway) set(mode string) {
	g.mu.Lock()
	g.mode = mode
	g.mu.Unlock()
}

func (g *slowGateway) serve(w http.ResponseWriter, r *http.Request) {
	m := gwPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		g.mu.Lock()
		g.protoErr = append(g.protoErr, "path "+r.URL.Path)
		g.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	g.mu.Lock()
	mode := g.mode
	g.codes = append(g.codes, m[2])
	if mode != "refuse" {
		g.taken = append(g.taken, m[1]+" "+m[2])
	}
	g.mu.Unlock()
	switch mode {
	case "refuse":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid number " + m[1]})
	case "5xx":
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
	case "hang":
		g.hang(r)
	case "garbage", "reset":
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if mode == "garbage" {
			buf.WriteString("SMS OK " + m[2] + "\r\n\r\n")
			buf.Flush()
		}
		conn.Close()
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// reached is how many SMS the gateway took.
func (g *slowGateway) reached() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.taken)
}

// codeFor is the last code the gateway took for phone.
func (g *slowGateway) codeFor(t *testing.T, phone string) string {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := len(g.taken) - 1; i >= 0; i-- {
		if p, c, _ := strings.Cut(g.taken[i], " "); p == phone {
			return c
		}
	}
	t.Fatalf("the gateway took no SMS for %s", phone)
	return ""
}

func (g *slowGateway) block(timeout string) string {
	return fmt.Sprintf("sms webhook {\n\t\t\turl %s/d/{phone}/{code}\n\t\t\ttimeout %s\n\t\t}", g.srv.URL, timeout)
}

// TestIntegrationSlowGatewayPumping is issue 13's point 2: a gateway that
// takes the SMS and answers after the plugin's timeout. Each send's
// outcome is unknown, so each counts: with limit_ip 2, of six sends from
// one client only two reach the gateway.
func TestIntegrationSlowGatewayPumping(t *testing.T) {
	gw := newSlowGateway(t)
	gw.set("hang")
	newEnv(t, opts{sms: gw.block("150ms"), otp: "limit_ip 2"})
	b := newBrowser()
	for i := range 6 {
		b.postJSON(t, prefix+"/send", fmt.Sprintf(`{"phone":"+1201555%04d"}`, 600+i))
	}
	if n := gw.reached(); n > 2 {
		t.Errorf("%d SMS reached the gateway from one client with limit_ip 2", n)
	}
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550610"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
}

// TestIntegrationUnknownOutcomesCount: a 5xx, a reset and a garbled
// answer each count against the phone's window too (its resend wait).
func TestIntegrationUnknownOutcomesCount(t *testing.T) {
	gw := newSlowGateway(t)
	newEnv(t, opts{sms: gw.block("150ms")})
	b := newBrowser()
	for i, mode := range []string{"5xx", "reset", "garbage", "hang"} {
		phone := fmt.Sprintf("+1201555%04d", 620+i)
		gw.set(mode)
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
		gw.set("")
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
	gw := newSlowGateway(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	const phone = "+12015550630"
	e := newEnv(t, opts{sms: gw.block("300ms"), otp: "limit_ip 2"})
	b := newBrowser()
	gw.set("refuse")
	for range 3 {
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	}
	e.load(t, opts{sms: fmt.Sprintf("sms webhook {\n\t\t\turl %s/d/{phone}/{code}\n\t\t}", closed.URL), otp: "limit_ip 2"})
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	e.load(t, opts{sms: gw.block("300ms"), otp: "limit_ip 2"})
	gw.set("")
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	b.postJSON(t, prefix+"/verify", `{"code":"`+gw.codeFor(t, phone)+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550631"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550632"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
}

// TestIntegrationFailoverAttemptsCountGlobal: each failover member that
// may have sent the SMS costs one of limit_global; one that definitely
// refused it costs nothing.
func TestIntegrationFailoverAttemptsCountGlobal(t *testing.T) {
	first, second := newSlowGateway(t), newSlowGateway(t)
	sms := "sms failover {\n" + first.block("150ms") + "\n" + second.block("300ms") + "\n}"
	newEnv(t, opts{sms: sms, otp: "limit_global 3"})

	// A first member that refuses (400): the send costs one.
	first.set("refuse")
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"+12015550640"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	// A first member that takes the SMS and times out: two.
	first.set("hang")
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"+12015550641"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"+12015550642"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
	if n := first.reached() + second.reached(); n != 3 {
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
	hook, last := newSlowGateway(t), newSlowGateway(t)
	gws := newFakeGateways(t)
	members := []string{
		hook.block("150ms"),
		twilioBlock(gws.srv.URL),
		vonageBlock(gws.srv.URL),
		webhookBlock(gws.srv.URL),
	}
	o := func(withLast bool) opts {
		sms := "sms failover {\n" + strings.Join(members, "\n")
		if withLast {
			sms += "\n" + last.block("300ms")
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
	}
	for i, m := range modes {
		phone := fmt.Sprintf("+1201555%04d", 650+i)
		phones = append(phones, phone)
		hook.set(m.hook)
		gws.set(m.gws)
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		b.postJSON(t, prefix+"/verify", `{"code":"`+last.codeFor(t, phone)+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	}
	e.load(t, o(false))
	for i, m := range modes {
		phone := fmt.Sprintf("+1201555%04d", 660+i)
		phones = append(phones, phone)
		hook.set(m.hook)
		gws.set(m.gws)
		newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
	}

	var secrets []string
	for _, p := range phones {
		secrets = append(secrets, strings.TrimPrefix(p, "+"), url.PathEscape(p))
	}
	for _, g := range []*slowGateway{hook, last} {
		g.mu.Lock()
		secrets = append(secrets, g.codes...)
		g.mu.Unlock()
	}
	if hook.reached() < 8 {
		t.Fatalf("the first member took %d SMS; the test did not run as meant", hook.reached())
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
		code := e.dex.readCode(t, phone)
		if code == old {
			t.Skip("Dexatel made the same code twice")
		}
		return code
	}
	t.Run("after resend", func(t *testing.T) {
		const phone = "+12015550670"
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		replaced := e.dex.readCode(t, phone)
		current := resend(t, b, phone, replaced)
		b.postJSON(t, prefix+"/verify", `{"code":"`+replaced+`"}`).wantJSON(t, 401, map[string]any{"error": "invalid_code"})
		b.postJSON(t, prefix+"/verify", `{"code":"`+current+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	})
	t.Run("after use", func(t *testing.T) {
		const phone = "+12015550671"
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		used := e.dex.readCode(t, phone)
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
			gw.setValid(tt.valid)
			defer gw.setValid("")
			b := newBrowser()
			b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
			b.postJSON(t, prefix+"/verify", `{"code":"`+gw.readCode(t, phone)+`"}`).wantJSON(t, tt.status, tt.want)
		})
	}
	t.Run("60202 on check", func(t *testing.T) {
		const phone = "+12015550690"
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		code := gw.readCode(t, phone)
		gw.set("refuse")
		got := b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 429, map[string]any{"error": "too_many_checks"})
		if msg, _ := got["message"].(string); !strings.Contains(msg, "new code") {
			t.Errorf("message %q does not tell the visitor to ask for a new code", msg)
		}
		gw.set("")
		// Twilio's refusal cost no attempt of phone_otp's own.
		b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})
	})
}
