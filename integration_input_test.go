package caddyotp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Input a client controls: where to return after login; oversized and
// malformed bodies, phones, codes and forged tokens, each a clear 4xx
// that changes nothing.

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
		{"trailing garbage", js, `{"phone":"` + phone + `"} x`, 400, "invalid_request"},
		{"a stray closing brace", js, `{"phone":"` + phone + `"}}`, 400, "invalid_request"},
		{"a stray closing bracket", js, `{"phone":"` + phone + `"}]`, 400, "invalid_request"},
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
