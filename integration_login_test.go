package caddyotp_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestIntegrationBrowserFlow(t *testing.T) {
	e := newEnv(t, opts{})
	b := newBrowser()
	const phone = "+12015550123"
	const deepLink = "/app/page?x=1"
	login := prefix + "/?return=%2Fapp%2Fpage%3Fx%3D1"

	t.Run("navigation to a deep link redirects to the phone page", func(t *testing.T) {
		r := b.page(t, deepLink)
		if r.StatusCode != 302 && r.StatusCode != 303 {
			t.Fatalf("status %d, want a redirect", r.StatusCode)
		}
		if loc := r.Header.Get("Location"); loc != login {
			t.Errorf("Location %q, want %q", loc, login)
		}
	})
	t.Run("non-browser request gets 401 JSON", func(t *testing.T) {
		r := b.get(t, deepLink, "Accept", "application/json")
		r.wantJSON(t, 401, map[string]any{"error": "otp_required", "login": prefix + "/"})
	})

	var csrf string
	t.Run("phone page", func(t *testing.T) {
		r := b.page(t, login)
		r.wantStatus(t, 200)
		csp := r.Header.Get("Content-Security-Policy")
		nonce := regexp.MustCompile(`'nonce-([^']+)'`).FindStringSubmatch(csp)
		if !strings.Contains(csp, "frame-ancestors 'none'") || nonce == nil {
			t.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none' or a nonce", csp)
		} else if !strings.Contains(r.body, `nonce="`+nonce[1]+`"`) {
			t.Errorf("page does not use the CSP nonce %q", nonce[1])
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		if !strings.Contains(r.body, `type="tel"`) {
			t.Errorf("no tel input:\n%s", r.body)
		}
		if got := r.field(t, returnRE); got != deepLink {
			t.Errorf("return field %q, want %q", got, deepLink)
		}
		csrf = r.field(t, csrfRE)
	})
	t.Run("form post without csrf is refused", func(t *testing.T) {
		b.postForm(t, prefix+"/send", url.Values{"phone": {phone}}).wantStatus(t, 403)
		b.postForm(t, prefix+"/send", url.Values{"phone": {phone}, "csrf": {"forged"}}).wantStatus(t, 403)
		// Without the cookie the token is worth nothing.
		newBrowser().postForm(t, prefix+"/send", url.Values{"phone": {phone}, "csrf": {csrf}}).wantStatus(t, 403)
		b.postForm(t, prefix+"/send", url.Values{"phone": {phone}, "csrf": {csrf}},
			"Origin", "https://evil.example").wantStatus(t, 403)
		if n := e.dex.Sent(phone); n != 0 {
			t.Errorf("refused forms sent %d SMS", n)
		}
	})
	t.Run("send, read the SMS, verify, land on the deep link", func(t *testing.T) {
		r := b.postForm(t, prefix+"/send", url.Values{"csrf": {csrf}, "phone": {"+1 (201) 555-0123"}, "return": {deepLink}})
		r.wantStatus(t, 303)
		if loc := r.Header.Get("Location"); loc != prefix+"/verify" {
			t.Fatalf("Location %q, want %s/verify", loc, prefix)
		}
		r = b.page(t, prefix+"/verify")
		r.wantStatus(t, 200)
		for _, s := range []string{"+1******0123", `autocomplete="one-time-code"`, `inputmode="numeric"`} {
			if !strings.Contains(r.text(), s) {
				t.Errorf("verify page lacks %s:\n%s", s, r.body)
			}
		}
		if strings.Contains(r.text(), "5550123") {
			t.Error("verify page shows the whole number")
		}
		// "Use a different number" keeps the deep link.
		href := r.field(t, regexp.MustCompile(`href="([^"]*\?return=[^"]*)"`))
		if got := b.page(t, href).field(t, returnRE); got != deepLink {
			t.Errorf("link %q leads to a phone page returning to %q, want %q", href, got, deepLink)
		}
		csrf := r.field(t, csrfRE)
		code := e.dex.ReadCode(t, phone)
		r = b.postForm(t, prefix+"/verify", url.Values{"csrf": {csrf}, "code": {wrong(code)}})
		r.wantStatus(t, 401)
		if !strings.Contains(r.text(), "2 attempts left") || !strings.Contains(r.body, `autocomplete="one-time-code"`) {
			t.Errorf("wrong code page:\n%s", r.body)
		}
		r = b.postForm(t, prefix+"/verify", url.Values{"csrf": {csrf}, "code": {code}})
		r.wantStatus(t, 303)
		if loc := r.Header.Get("Location"); loc != deepLink {
			t.Fatalf("Location %q, want %q", loc, deepLink)
		}
		app := b.page(t, deepLink).echo(t)
		if app.URI != deepLink || strings.Join(app.Headers["X-Verified-Phone"], ",") != phone {
			t.Errorf("upstream got %s with X-Verified-Phone %q", app.URI, app.Headers["X-Verified-Phone"])
		}
	})
	t.Run("verify page without a pending code goes back to the phone page", func(t *testing.T) {
		r := newBrowser().page(t, prefix+"/verify")
		if r.StatusCode != 303 || r.Header.Get("Location") != prefix+"/" {
			t.Errorf("status %d Location %q, want 303 to %s/", r.StatusCode, r.Header.Get("Location"), prefix)
		}
	})
}

func TestIntegrationJSONAttemptsAndBlock(t *testing.T) {
	e := newEnv(t, opts{})
	const phone = "+12015550124"
	b := newBrowser()

	r := b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`","return":"/app"}`)
	got := r.wantJSON(t, 200, map[string]any{"status": "sent", "channel": "sms", "expires_in": 300, "resend_after": 30})
	if len(got) != 4 {
		t.Errorf("send answered %v, want exactly status, channel, expires_in, resend_after", got)
	}
	ch := r.setCookie("otp_session_challenge")
	if ch == nil || !ch.HttpOnly || ch.Value == "" {
		t.Fatalf("no HttpOnly challenge cookie: %q", r.Header.Values("Set-Cookie"))
	}
	code := e.dex.ReadCode(t, phone)

	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).
		wantJSON(t, 401, map[string]any{"error": "invalid_code", "attempts_left": 2})
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(wrong(code))+`"}`).
		wantJSON(t, 401, map[string]any{"error": "invalid_code", "attempts_left": 1})
	r = b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`)
	r.wantRetryAfter(t, r.wantJSON(t, 429, map[string]any{"error": "blocked"}), 890, 900)

	r = b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`)
	r.wantRetryAfter(t, r.wantJSON(t, 429, map[string]any{"error": "blocked"}), 1, 900)
	r = newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`)
	r.wantRetryAfter(t, r.wantJSON(t, 429, map[string]any{"error": "blocked"}), 1, 900)
	if n := e.dex.Sent(phone); n != 1 {
		t.Errorf("blocked phone got %d SMS, want 1", n)
	}

	t.Run("a fresh phone in a fresh browser verifies", func(t *testing.T) {
		const other = "+12015550125"
		b := newBrowser()
		b.postJSON(t, prefix+"/send", `{"phone":"`+other+`","return":"/app/x?y=1"}`).wantJSON(t, 200, nil)
		r := b.postJSON(t, prefix+"/verify", `{"code":"`+e.dex.ReadCode(t, other)+`"}`)
		r.wantJSON(t, 200, map[string]any{"status": "verified", "return": "/app/x?y=1"})
		ck := r.setCookie("otp_session")
		if ck == nil || !ck.HttpOnly || ck.Path != "/" || ck.Secure || ck.MaxAge != 12*3600 {
			t.Fatalf("session cookie %+v, want HttpOnly, Path=/, not Secure on http, 12h", ck)
		}
		if raw := strings.Join(r.Header.Values("Set-Cookie"), "\n"); !strings.Contains(raw, "SameSite=Lax") {
			t.Errorf("session cookie not SameSite=Lax: %s", raw)
		}
		// The code is single use.
		b.postJSON(t, prefix+"/verify", `{"code":"`+e.dex.ReadCode(t, other)+`"}`).wantStatus(t, 400)
	})
}

func TestIntegrationSessionAndLogout(t *testing.T) {
	e := newEnv(t, opts{})
	const phone = "+12015550127"
	b := newBrowser()
	start := time.Now()
	tok := login(t, e.dex, b.here(), phone)

	got := b.get(t, prefix+"/session").wantJSON(t, 200, map[string]any{"phone": phone})
	if exp, _ := got["expires_at"].(float64); exp < float64(start.Add(12*time.Hour).Unix()-5) || exp > float64(time.Now().Add(12*time.Hour).Unix()+5) {
		t.Errorf("expires_at %v, want about 12h from now", got["expires_at"])
	}

	r := b.postJSON(t, prefix+"/logout", ``) // no body: nothing to say
	r.wantJSON(t, 200, map[string]any{"status": "logged_out"})
	if raw := strings.Join(r.Header.Values("Set-Cookie"), "\n"); !regexp.MustCompile(`(?m)^otp_session=;.*Max-Age=0`).MatchString(raw) {
		t.Errorf("logout did not clear the cookie with Max-Age=0: %s", raw)
	}
	b.get(t, prefix+"/session").wantJSON(t, 401, map[string]any{"error": "otp_required"})

	// The old token, replayed by hand, is revoked server-side.
	thief := newBrowser()
	thief.get(t, "/app/x", "Cookie", "otp_session="+tok).wantJSON(t, 401, map[string]any{"error": "otp_required"})
	thief.get(t, prefix+"/session", "Cookie", "otp_session="+tok).wantStatus(t, 401)
	if r := thief.page(t, "/app/x", "Cookie", "otp_session="+tok); r.StatusCode != 302 {
		t.Errorf("revoked session navigation: status %d, want 302 to the login page", r.StatusCode)
	}

	t.Run("form logout", func(t *testing.T) {
		b := newBrowser()
		login(t, e.dex, b.here(), "+12015550128")
		r := b.page(t, prefix+"/logout")
		r.wantStatus(t, 200)
		if !strings.Contains(r.text(), "+1******0128") {
			t.Errorf("logout page does not show the masked number:\n%s", r.body)
		}
		r = b.postForm(t, prefix+"/logout", url.Values{"csrf": {r.field(t, csrfRE)}})
		if r.StatusCode != 303 || r.Header.Get("Location") != prefix+"/" {
			t.Errorf("status %d Location %q, want 303 to the phone page", r.StatusCode, r.Header.Get("Location"))
		}
		b.get(t, "/app/x").wantStatus(t, 401)
	})
}
