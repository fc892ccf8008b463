package caddyotp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Forward auth (docs/forward-auth.md): phone_otp as the auth service of
// another proxy. TestForwardAuthNginx runs Debian's real nginx with the
// config the docs show, in front of a small app, and signs in through it
// in headless Chromium; TestForwardAuthEndpoint asks the endpoint itself.

// TestForwardAuthEndpoint asks {prefix}/auth as a proxy would, through
// the real Caddy: no session is 401 (302 on request) to the login page
// with the forwarded URL as return; a session is 200 with the phone in
// the answer's header; logout ends it. Forwarded headers count only from
// a peer in trusted_proxies.
func TestForwardAuthEndpoint(t *testing.T) {
	e := newEnv(t, opts{global: trustLocal})
	const phone = "+12015550123"
	b := newBrowser()
	fwd := []string{"X-Forwarded-Uri", "/app/deep?x=1", "X-Verified-Phone", "+19999999999"}
	loginAt := prefix + "/?return=%2Fapp%2Fdeep%3Fx%3D1"

	r := b.get(t, prefix+"/auth", fwd...)
	r.wantJSON(t, 401, map[string]any{"error": "otp_required"})
	if loc := r.Header.Get("Location"); loc != loginAt {
		t.Errorf("401 Location %q, want %q", loc, loginAt)
	}
	r = b.get(t, prefix+"/auth?rd", fwd...)
	r.wantStatus(t, 302)
	if loc := r.Header.Get("Location"); loc != loginAt || r.body != "" {
		t.Errorf("302 Location %q, body %q; want %q and none", loc, r.body, loginAt)
	}
	r = b.get(t, prefix+"/auth", append([]string{"X-Phone-OTP-Redirect", "1", "X-Forwarded-Host", "app.example:8443", "X-Forwarded-Proto", "https"}, fwd...)...)
	r.wantStatus(t, 302)
	if loc := r.Header.Get("Location"); loc != "https://app.example:8443"+loginAt {
		t.Errorf("302 Location %q, want the login page on the forwarded host", loc)
	}
	r = b.get(t, prefix+"/auth", "X-Forwarded-Uri", "//evil.com/x")
	if loc := r.Header.Get("Location"); loc != prefix+"/?return=%2F" {
		t.Errorf("Location %q for //evil.com, want return /", loc)
	}

	tok := login(t, e.dex, b.here(), phone)
	for _, method := range []string{"GET", "HEAD", "POST"} {
		r = b.do(t, method, prefix+"/auth", "", "", fwd...)
		r.wantStatus(t, 200)
		if got := r.Header.Values("X-Verified-Phone"); len(got) != 1 || got[0] != phone {
			t.Errorf("%s: X-Verified-Phone %q, want [%s] only", method, got, phone)
		}
		if r.Header.Get("Cache-Control") != "no-store" || r.body != "" || r.Header.Get("X-Verified-User") != "" {
			t.Errorf("%s: 200 with Cache-Control %q, body %q, user %q", method, r.Header.Get("Cache-Control"), r.body, r.Header.Get("X-Verified-User"))
		}
	}
	// A forged or altered token is no session.
	other := newBrowser()
	other.get(t, prefix+"/auth", "Cookie", "otp_session="+tok[:len(tok)-2]+"xx").wantStatus(t, 401)
	other.get(t, prefix+"/auth", "Cookie", "otp_session="+tok).wantStatus(t, 200)

	b.postJSON(t, prefix+"/logout", `{}`).wantJSON(t, 200, map[string]any{"status": "logged_out"})
	b.get(t, prefix+"/auth").wantStatus(t, 401)
	// Revoked, not only cleared: the old token is refused too.
	other.get(t, prefix+"/auth", "Cookie", "otp_session="+tok).wantStatus(t, 401)

	// From a peer outside trusted_proxies the forwarded headers are the
	// client's say-so: no return from them, no host.
	e.load(t, opts{global: "servers {\n\t\ttrusted_proxies static 10.0.0.0/8\n\t}"})
	r = b.get(t, prefix+"/auth", append([]string{"X-Forwarded-Host", "evil.com", "X-Original-URI", "/app/deep?x=1"}, fwd...)...)
	r.wantStatus(t, 401)
	if loc := r.Header.Get("Location"); loc != prefix+"/?return=%2F" {
		t.Errorf("untrusted peer: Location %q, want the login page with return /", loc)
	}
}

// TestForwardAuthSecondFactor: with users_file the answer names the
// user too, and the session passes only for the user basic_auth
// authenticated on this request, as on phone_otp's own routes.
func TestForwardAuthSecondFactor(t *testing.T) {
	sf := newSecondFactor(t, "", "")
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{}`, as("alice")...).wantJSON(t, 200, nil)
	b.postJSON(t, prefix+"/verify", `{"code":"`+sf.dex.ReadCode(t, alicePhone)+`"}`, as("alice")...).wantJSON(t, 200, nil)

	r := b.get(t, prefix+"/auth", as("alice", "X-Verified-User", "mallory")...)
	r.wantStatus(t, 200)
	if p, u := r.Header.Values("X-Verified-Phone"), r.Header.Values("X-Verified-User"); len(p) != 1 || p[0] != alicePhone || len(u) != 1 || u[0] != "alice" {
		t.Errorf("answer names %q, %q; want alice's phone and alice", p, u)
	}
	r = b.get(t, prefix+"/auth", as("carol")...)
	r.wantStatus(t, 401)
	if r.Header.Get("X-Verified-Phone") != "" || r.Header.Get("X-Verified-User") != "" {
		t.Errorf("alice's session passed for carol: %q", r.Header)
	}
}

// TestForwardAuthNginx: a browser navigation to a deep link through nginx
// ends on the login page; after the code it lands on the deep link, and
// the app behind nginx sees X-Verified-Phone from phone_otp, never the
// browser's own copy; logout through nginx ends the session.
func TestForwardAuthNginx(t *testing.T) {
	ngx := nginxBinary(t)
	tb := newBrowserTab(t)
	tb.onNewDocument(t, webOTPStub)
	e := newEnv(t, opts{global: trustLocal})
	app := newRecordingApp(t)
	front := startNginx(t, ngx, app.Listener.Addr().String(), fmt.Sprintf("127.0.0.1:%d", ports()[1]))

	const phone = "+12015550123"
	const forged = "+19999999999"
	// Every request the browser sends carries a forged identity.
	call(t, tb, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{
		"Accept-Language": "en-US", "X-Verified-Phone": forged, "X-Verified-User": "mallory",
	}})

	// The app's own cookies, before and after phone_otp's: they reach
	// the app, phone_otp's do not.
	call(t, tb, network.SetCookie, network.SetCookieParams{Name: "app_a", Value: "1", URL: front + "/"})

	const deep = "/app/deep?x=1"
	tb.do(t, chromedp.Navigate(front+deep))
	tb.waitPath(t, prefix+"/?return=%2Fapp%2Fdeep%3Fx%3D1")
	if n := app.count(); n != 0 {
		t.Fatalf("the app got %d requests before any login", n)
	}
	tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), phone+kb.Enter))
	tb.waitPath(t, prefix+"/verify")
	tb.submit(t, chromedp.SendKeys(chromedp.CSS("#code"), e.dex.ReadCode(t, phone)+kb.Enter))
	tb.waitPath(t, deep)
	if h := eval[string](t, tb, `location.origin`); h != front {
		t.Errorf("landed on %s, want nginx's %s", h, front)
	}
	tb.wantSignedIn(t, phone)
	call(t, tb, network.SetCookie, network.SetCookieParams{Name: "app_z", Value: "2", URL: front + "/"})
	tb.submit(t, chromedp.Reload())
	tb.waitPath(t, deep)
	tb.wantSignedIn(t, phone)

	for i, h := range app.headers() {
		if got := h.Values("X-Verified-Phone"); len(got) != 1 || got[0] != phone {
			t.Errorf("app request %d: X-Verified-Phone %q, want [%s] only", i, got, phone)
		}
		if got := h.Values("X-Verified-User"); len(got) != 0 {
			t.Errorf("app request %d: X-Verified-User %q, the browser's own", i, got)
		}
		if ck := h.Get("Cookie"); strings.Contains(ck, "otp_session") || !strings.Contains(ck, "app_a=1") {
			t.Errorf("app request %d: Cookie %q, want the app's own cookies only", i, ck)
		}
	}
	if n := app.count(); n < 2 || !strings.Contains(app.headers()[n-1].Get("Cookie"), "app_z=2") {
		t.Errorf("the app got %d requests, want the deep link and its reload with app_z", n)
	}

	cookies := call(t, tb, network.GetCookies, network.GetCookiesParams{URLs: []string{front + "/"}})
	var tok string
	for _, c := range cookies.Cookies {
		if c.Name == "otp_session" {
			tok = c.Value
		}
	}
	if tok == "" {
		t.Fatal("no otp_session cookie in the browser")
	}

	// phone_otp's cookies are dropped wherever they stand in the line.
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, line := range []string{
		"otp_session=" + tok,
		"otp_session=" + tok + "; x=1",
		"x=1; otp_session=" + tok,
		"x=1;otp_session=" + tok + "; otp_session_device=d; y=2",
		"otp_session_device=d; otp_session=" + tok,
	} {
		req, _ := http.NewRequest("GET", front+deep, nil)
		req.Header.Set("Cookie", line)
		// Spellings an app may fold into the real name, set as written.
		req.Header["X_Verified_Phone"] = []string{forged}
		req.Header["x-verified-phone"] = []string{forged}
		req.Header["X.Verified.Phone"] = []string{forged}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got echoed
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("Cookie %q: %d %v", line, resp.StatusCode, err)
		}
		for k, v := range got.Headers {
			if strings.EqualFold(strings.NewReplacer("_", "-", ".", "-").Replace(k), "X-Verified-Phone") && (k != "X-Verified-Phone" || len(v) != 1 || v[0] != phone) {
				t.Errorf("app got %s %q, want X-Verified-Phone [%s] only", k, v, phone)
			}
		}
		ck := strings.Join(got.Headers["Cookie"], "\n")
		if strings.Contains(ck, "otp_session") || strings.Contains(line, "x=1") != strings.Contains(ck, "x=1") ||
			strings.Contains(line, "y=2") != strings.Contains(ck, "y=2") {
			t.Errorf("Cookie %q reached the app as %q", line, ck)
		}
	}

	tb.do(t, chromedp.Navigate(front+prefix+"/logout"))
	tb.submit(t, chromedp.Click(chromedp.CSS("button[type=submit]")))
	tb.waitPath(t, prefix+"/")
	seen := app.count()
	tb.do(t, chromedp.Navigate(front+deep))
	tb.waitPath(t, prefix+"/?return=%2Fapp%2Fdeep%3Fx%3D1")

	// The session was revoked, not only its cookie cleared: replayed
	// through nginx it is sent to the login page, and the app never sees it.
	req, _ := http.NewRequest("GET", front+deep, nil)
	req.AddCookie(&http.Cookie{Name: "otp_session", Value: tok})
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || !strings.HasSuffix(resp.Header.Get("Location"), prefix+"/?return=%2Fapp%2Fdeep%3Fx%3D1") {
		t.Errorf("old session through nginx: %d Location %q, want 302 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("login redirect Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	if n := app.count(); n != seen {
		t.Errorf("the app got %d requests after logout", n-seen)
	}
}

// TestForwardAuthCaddy runs the docs' Caddy forward_auth config: a front
// Caddy site on a port of its own, phone_otp's site as its auth service.
// Through the front, no session is a 302 to the login page on the front's
// host; the login works through it; the app gets phone_otp's phone and
// never the client's; logout ends it.
func TestForwardAuthCaddy(t *testing.T) {
	e := newEnv(t, opts{global: trustLocal})
	app := newRecordingApp(t)
	port := freePort(t)
	front := fmt.Sprintf("http://localhost:%d", port)
	site := docsBlock(t, "Caddyfile forward_auth", "caddyfile")
	for _, sub := range [][3]string{
		{"app.example.com {", front + " {", "1"},
		{"otp-caddy:9080", fmt.Sprintf("localhost:%d", ports()[1]), "2"},
		{"app:3000", app.Listener.Addr().String(), "1"},
	} {
		if n := fmt.Sprint(strings.Count(site, sub[0])); n != sub[2] {
			t.Fatalf("docs' Caddy config has %q %s times, want %s", sub[0], n, sub[2])
		}
		site = strings.ReplaceAll(site, sub[0], sub[1])
	}
	e.load(t, opts{global: trustLocal, more: site})

	const phone = "+12015550123"
	const deep = "/app/deep?x=1"
	v := newVisitor().on(front)
	loginAt := front + prefix + "/?return=%2Fapp%2Fdeep%3Fx%3D1"
	r := v.get(t, deep, "Accept", "text/html")
	r.wantStatus(t, 302)
	if loc := r.Header.Get("Location"); loc != loginAt {
		t.Errorf("Location %q, want %q", loc, loginAt)
	}
	tok := login(t, e.dex, v, phone)

	forged := []string{"X-Verified-Phone", "+19999999999", "X_Verified_Phone", "+19999999998", "X-Verified-User", "mallory"}
	got := v.get(t, deep, append(forged, "Cookie", "app_a=1")...).echo(t)
	if got.URI != deep {
		t.Errorf("app got %q, want %q", got.URI, deep)
	}
	for i, h := range app.headers() {
		if p := h.Values("X-Verified-Phone"); len(p) != 1 || p[0] != phone {
			t.Errorf("app request %d: X-Verified-Phone %q, want [%s] only", i, p, phone)
		}
		if ck := h.Get("Cookie"); strings.Contains(ck, "otp_session") || !strings.Contains(ck, "app_a=1") {
			t.Errorf("app request %d: Cookie %q, want the app's own cookies only", i, ck)
		}
		for k := range h {
			if k != "X-Verified-Phone" && strings.EqualFold(strings.NewReplacer("_", "-").Replace(k), "X-Verified-Phone") || strings.EqualFold(k, "X-Verified-User") {
				t.Errorf("app request %d: %s %q, the client's own", i, k, h[k])
			}
		}
	}
	if app.count() != 1 {
		t.Errorf("the app got %d requests, want 1", app.count())
	}

	v.postJSON(t, prefix+"/logout", `{}`).wantJSON(t, 200, map[string]any{"status": "logged_out"})
	v.get(t, deep, "Accept", "text/html").wantStatus(t, 302)
	replay := newVisitor().on(front)
	replay.get(t, deep, "Cookie", "otp_session="+tok).wantStatus(t, 302)
	if app.count() != 1 {
		t.Errorf("the app got %d requests after logout", app.count()-1)
	}
}
