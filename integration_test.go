package caddyotp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
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

func TestIntegrationUpstreamHeaders(t *testing.T) {
	e := newEnv(t, opts{})
	const phone = "+12015550126"
	b := newBrowser()
	tok := login(t, e.dex, b.here(), phone)

	spoofs := []string{
		"X-Verified-Phone", "+19995550123",
		"x-verified-phone", "+19995550124",
		"X_Verified_Phone", "+19995550125",
		"x-VERIFIED_phone", "+19995550126",
		"X-Verified.Phone", "+19995550127",
	}
	wantOnlyVerified := func(t *testing.T, app echoed) {
		t.Helper()
		var seen []string
		for name, vals := range app.Headers {
			if strings.EqualFold(strings.NewReplacer("_", "-", ".", "-").Replace(name), "X-Verified-Phone") {
				seen = append(seen, name+": "+strings.Join(vals, ","))
			}
		}
		if len(seen) != 1 || seen[0] != "X-Verified-Phone: "+phone {
			t.Errorf("upstream identity headers %q, want only X-Verified-Phone: %s", seen, phone)
		}
	}
	app := b.get(t, "/app/x", append(spoofs, "Cookie", "other=1; otp_session_csrf=abc; my_otp_session=2")...).echo(t)
	wantOnlyVerified(t, app)
	for h, want := range map[string]string{"X-Auth-User-Id": phone, "X-Auth-User-Phone": phone} {
		if got := strings.Join(app.Headers[h], ","); got != want {
			t.Errorf("{%s placeholder} reached upstream as %q, want %q", h, got, want)
		}
	}
	cookie := strings.Join(app.Headers["Cookie"], "; ")
	if strings.Contains(cookie, tok) || regexp.MustCompile(`(^|; )otp_session`).MatchString(cookie) {
		t.Errorf("upstream got phone_otp's cookies: %q", cookie)
	}
	if !strings.Contains(cookie, "other=1") || !strings.Contains(cookie, "my_otp_session=2") {
		t.Errorf("upstream lost the site's own cookies: %q", cookie)
	}

	// Without a session a forged header gets nowhere.
	newBrowser().get(t, "/app/x", "X-Verified-Phone", phone).wantJSON(t, 401, map[string]any{"error": "otp_required"})

	t.Run("underscore spellings Caddy was told to keep", func(t *testing.T) {
		// By default Caddy drops every header with '_' or '.' itself;
		// with this allowlist only phone_otp stands in the way.
		e.load(t, opts{global: `servers {
			expected_underscore_headers X_Verified_Phone X-Verified_phone Other_Header
		}`})
		app := b.get(t, "/app/x", append(spoofs, "Other_Header", "kept")...).echo(t)
		if got := app.Headers["Other_header"]; len(got) != 1 || got[0] != "kept" {
			t.Fatalf("the allowlist is not in force: upstream got %v", app.Headers)
		}
		wantOnlyVerified(t, app)
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

func TestIntegrationOpenRedirect(t *testing.T) {
	e := newEnv(t, opts{otp: "limit_ip 100"})
	cases := []struct{ ret, want string }{
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"https://evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\/evil.example", "/"},
		{"/\t/evil.example", "/"},
		{" //evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/app\r\nSet-Cookie: x=1", "/"},
		{"/app\nx", "/"},
		{"evil.example", "/"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"}, // a path on this site
		{"/app/ok?q=1&r=%2F", "/app/ok?q=1&r=%2F"},
	}
	base, _ := url.Parse(siteURL() + prefix + "/verify")
	for i, c := range cases {
		for _, form := range []bool{true, false} {
			phone := fmt.Sprintf("+120155501%02d", i)
			if !form {
				phone = fmt.Sprintf("+120155502%02d", i)
			}
			b := newBrowser()
			var loc string
			if form {
				r := b.page(t, prefix+"/?return="+url.QueryEscape(c.ret))
				r.wantStatus(t, 200)
				if got := r.field(t, returnRE); got != c.want {
					t.Errorf("return %q: phone page keeps %q, want %q", c.ret, got, c.want)
				}
				// The attacker's form posts the raw value anyway.
				b.postForm(t, prefix+"/send", url.Values{"csrf": {r.field(t, csrfRE)}, "phone": {phone}, "return": {c.ret}}).wantStatus(t, 303)
				r = b.postForm(t, prefix+"/verify", url.Values{"csrf": {r.field(t, csrfRE)}, "code": {e.dex.ReadCode(t, phone)}})
				r.wantStatus(t, 303)
				loc = r.Header.Get("Location")
			} else {
				b.postJSON(t, prefix+"/send?return="+url.QueryEscape(c.ret), `{"phone":"`+phone+`"}`).wantStatus(t, 200)
				got := b.postJSON(t, prefix+"/verify", `{"code":"`+e.dex.ReadCode(t, phone)+`"}`).wantJSON(t, 200, nil)
				loc, _ = got["return"].(string)
			}
			u, err := base.Parse(loc)
			if loc != c.want || err != nil || u.Host != base.Host || strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\") {
				t.Errorf("return %q (form %v): went to %q, want %q on this site", c.ret, form, loc, c.want)
			}
		}
	}
}

func TestIntegrationBadInput(t *testing.T) {
	e := newEnv(t, opts{})
	const phone = "+12015550129"
	const js = "application/json"
	sendCases := []struct {
		name, ctype, body string
		status            int
		code              string
	}{
		{"letters", js, `{"phone":"+1201555ABCD"}`, 400, "invalid_phone"},
		{"empty phone", js, `{"phone":""}`, 400, "invalid_phone"},
		{"no phone", js, `{}`, 400, "invalid_phone"},
		{"arabic-indic digits", js, `{"phone":"+١٢٠١٥٥٥٠١٢٣"}`, 400, "invalid_phone"},
		{"fullwidth digits", js, `{"phone":"+１２０１５５５０１２３"}`, 400, "invalid_phone"},
		{"NUL byte", js, `{"phone":"+1201555\u00000129"}`, 400, "invalid_phone"},
		{"invalid UTF-8", js, "{\"phone\":\"+1201555\xff0129\"}", 400, "invalid_phone"},
		{"5000 digits", js, `{"phone":"+` + strings.Repeat("1", 5000) + `"}`, 400, "invalid_phone"},
		{"no such number", js, `{"phone":"+19995550123"}`, 400, "invalid_phone"},
		{"bad country", js, `{"phone":"2015550129","country":"XX"}`, 400, "invalid_phone"},
		{"not JSON", js, `phone=%2B12015550129`, 400, "invalid_request"},
		{"truncated JSON", js, `{"phone":`, 400, "invalid_request"},
		{"JSON array", js, `["` + phone + `"]`, 400, "invalid_request"},
		{"number for phone", js, `{"phone":12015550129}`, 400, "invalid_request"},
		{"two objects", js, `{"phone":"` + phone + `"} {}`, 400, "invalid_request"},
		{"100 KiB body", js, `{"phone":"` + strings.Repeat("1", 100<<10) + `"}`, 413, "request_too_large"},
		{"text/plain", "text/plain", `{"phone":"` + phone + `"}`, 415, "unsupported_media_type"},
		{"no content type", "", `{"phone":"` + phone + `"}`, 415, "unsupported_media_type"},
		{"malformed content type", "application/json; =", `{"phone":"` + phone + `"}`, 415, "unsupported_media_type"},
	}
	b := newBrowser()
	// Told "Connection: close", Go's server drops the connection with the
	// rest of an oversized body unread, and the reset sometimes beats the
	// 413 to the client; a browser keeps the connection alive.
	keepAlive := newBrowser()
	keepAlive.c.Transport.(*http.Transport).DisableKeepAlives = false
	for _, c := range sendCases {
		t.Run("send "+c.name, func(t *testing.T) {
			b := b
			if c.status == 413 {
				b = keepAlive
			}
			b.do(t, "POST", prefix+"/send", c.ctype, c.body).wantJSON(t, c.status, map[string]any{"error": c.code})
		})
	}
	if n := e.dex.Sent(phone); n != 0 {
		t.Fatalf("bad requests sent %d SMS", n)
	}
	t.Run("form with a bad phone shows the phone page", func(t *testing.T) {
		r := b.postForm(t, prefix+"/send", url.Values{"csrf": {b.csrf(t)}, "phone": {"+1 201 555 ABCD"}})
		r.wantStatus(t, 400)
		if !strings.Contains(r.body, `type="tel"`) || !strings.Contains(r.text(), "+1 201 555 ABCD") {
			t.Errorf("page does not offer the number again:\n%s", r.body)
		}
	})

	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, nil)
	code := e.dex.ReadCode(t, phone)
	for name, body := range map[string]string{
		"letters": `{"code":"12a456"}`, "too short": `{"code":"123"}`, "too long": `{"code":"1234567"}`,
		"empty": `{"code":""}`, "number": `{"code":123456}`, "arabic-indic digits": `{"code":"١٢٣٤٥٦"}`,
		"null": `{"code":null}`, "NUL": `{"code":"12345\u0000"}`,
	} {
		t.Run("verify "+name, func(t *testing.T) {
			b.postJSON(t, prefix+"/verify", body).wantJSON(t, 400, map[string]any{"error": "invalid_request"})
		})
	}
	t.Run("malformed codes spend no attempt", func(t *testing.T) {
		b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})
	})

	stranger := newBrowser()
	stranger.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 400, map[string]any{"error": "invalid_request"})
	realTok := b.here().cookie(t, "otp_session_challenge", prefix+"/verify")
	ch := strings.Split(realTok, ".")
	forged := map[string]string{
		"garbage":         "not-a-jwt",
		"bad signature":   ch[0] + "." + ch[1] + "." + strings.Repeat("A", len(ch[2])),
		"alg none":        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + ch[1] + ".",
		"a session token": login(t, e.dex, newBrowser().here(), "+12015550130"),
		"a huge one":      strings.Repeat("x", 6000),
		"with odd bytes":  "\"\\%00;",
	}
	for name, tok := range forged {
		t.Run("forged challenge "+name, func(t *testing.T) {
			stranger.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`, "Cookie", "otp_session_challenge="+tok).
				wantJSON(t, 400, map[string]any{"error": "invalid_request"})
		})
	}
	for name, tok := range map[string]string{"a challenge token": realTok, "garbage": "x.y.z", "alg none": forged["alg none"]} {
		t.Run("forged session "+name, func(t *testing.T) {
			stranger.get(t, "/app", "Cookie", "otp_session="+tok).wantJSON(t, 401, map[string]any{"error": "otp_required"})
			stranger.get(t, prefix+"/session", "Cookie", "otp_session="+tok).wantStatus(t, 401)
		})
	}
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})

	r := b.get(t, prefix+"/send")
	r.wantJSON(t, 405, map[string]any{"error": "method_not_allowed"})
	if r.Header.Get("Allow") != "POST" {
		t.Errorf("Allow %q, want POST", r.Header.Get("Allow"))
	}
	if r := b.do(t, "PUT", prefix+"/verify", js, `{}`); r.StatusCode != 405 || !strings.Contains(r.Header.Get("Allow"), "POST") {
		t.Errorf("PUT verify: %d Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
	b.get(t, prefix+"/nope").wantJSON(t, 404, map[string]any{"error": "not_found"})
	b.postJSON(t, prefix+"/nope", `{}`).wantJSON(t, 404, map[string]any{"error": "not_found"})
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

func TestIntegrationReload(t *testing.T) {
	e := newEnv(t, opts{otp: "session_ttl 12h"})
	early := newBrowser()
	login(t, e.dex, early.here(), "+12015550135")
	const phone = "+12015550136"
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, nil)
	code := e.dex.ReadCode(t, phone)
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})

	e.load(t, opts{otp: "session_ttl 6h", site: "header X-Config reloaded"})

	if r := b.get(t, "/app"); r.Header.Get("X-Config") != "reloaded" {
		t.Fatalf("the new config is not running: %v", r.Header)
	}
	// The attempt counter survived too.
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(wrong(code))+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 1})
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	got := b.get(t, prefix+"/session").wantJSON(t, 200, map[string]any{"phone": phone})
	if exp, _ := got["expires_at"].(float64); exp > float64(time.Now().Add(6*time.Hour+time.Minute).Unix()) {
		t.Errorf("session after reload expires at %v, want the new 6h session_ttl", exp)
	}
	if h := early.get(t, "/app").echo(t).Headers["X-Verified-Phone"]; len(h) != 1 || h[0] != "+12015550135" {
		t.Errorf("session from before the reload: upstream X-Verified-Phone %q", h)
	}
}

func TestIntegrationAllowlist(t *testing.T) {
	e := newEnv(t, opts{otp: "allow +12015550137"})
	const allowed, other = "+12015550137", "+12015550138"
	ra := newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+allowed+`"}`)
	b := newBrowser()
	ro := b.postJSON(t, prefix+"/send", `{"phone":"`+other+`"}`)
	ra.wantStatus(t, 200)
	if ro.StatusCode != ra.StatusCode || ro.body != ra.body {
		t.Errorf("answers differ: allowed %d %s, other %d %s", ra.StatusCode, ra.body, ro.StatusCode, ro.body)
	}
	ca, co := ra.setCookie("otp_session_challenge"), ro.setCookie("otp_session_challenge")
	if ca == nil || co == nil || ca.Path != co.Path || ca.HttpOnly != co.HttpOnly || ca.SameSite != co.SameSite {
		t.Errorf("challenge cookies differ: %+v vs %+v", ca, co)
	}
	if e.dex.Sent(allowed) != 1 || e.dex.Sent(other) != 0 {
		t.Errorf("SMS sent: allowed %d, other %d; want 1 and 0", e.dex.Sent(allowed), e.dex.Sent(other))
	}
	for i, code := range []string{e.dex.ReadCode(t, allowed), "000000"} {
		b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).
			wantJSON(t, 401, map[string]any{"error": "invalid_code", "attempts_left": 2 - i})
	}
}

func TestIntegrationRateLimits(t *testing.T) {
	e := newEnv(t, opts{otp: "limit_ip 2"})
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550139"}`).wantJSON(t, 200, nil)

	r := b.postJSON(t, prefix+"/send", `{"phone":"+12015550139"}`)
	r.wantRetryAfter(t, r.wantJSON(t, 429, map[string]any{"error": "rate_limited"}), 1, 30)

	// The refused resend took no slot of the client's IP.
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550140"}`).wantJSON(t, 200, nil)
	r = newBrowser().postJSON(t, prefix+"/send", `{"phone":"+12015550141"}`)
	r.wantRetryAfter(t, r.wantJSON(t, 429, map[string]any{"error": "rate_limited"}), 31, 3600)
	if e.dex.Sent("+12015550139") != 1 || e.dex.Sent("+12015550141") != 0 {
		t.Errorf("rate-limited sends reached Dexatel")
	}

	t.Run("form answers 429 with Retry-After too", func(t *testing.T) {
		r := b.postForm(t, prefix+"/send", url.Values{"csrf": {b.csrf(t)}, "phone": {"+12015550142"}})
		r.wantStatus(t, 429)
		if r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many tries") {
			t.Errorf("Retry-After %q; page:\n%s", r.Header.Get("Retry-After"), r.body)
		}
	})
}
