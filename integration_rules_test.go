package caddyotp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The handler's own rules (allow, allow_file, countries, users_file) are
// part of what makes a session valid: a reload that narrows them ends the
// sessions and remembered devices they no longer admit, at once.

const (
	keptPhone = "+12015550211" // admitted before and after the reload
	cutPhone  = "+12015550212" // taken off at the reload
	gbPhone   = "+447400123456"
)

// rulesReload loads o with a header that differs on each call, as `caddy
// reload --force` does (an edited allow_file alone does not change the
// config), and returns the header, by which answers prove the new config
// runs.
func (e *env) rulesReload(t *testing.T, o opts, n int) [2]string {
	t.Helper()
	v := fmt.Sprint(n)
	o.site += "\n\theader X-Rules " + v
	e.load(t, o)
	return [2]string{"X-Rules", v}
}

// reloadMark is the header by which answers prove sf's last reload runs.
func (sf *secondFactor) reloadMark() [2]string {
	return [2]string{"X-Reload", fmt.Sprint(sf.reloads)}
}

// wantCut checks that b's session no longer passes: 401 for an API
// client, a redirect to the login page for a browser, 401 at /session.
// The response header mark (name, value) proves the reloaded config runs.
func wantCut(t *testing.T, b *browser, mark [2]string, hdr ...string) {
	t.Helper()
	r := b.get(t, "/app", hdr...)
	if got := r.Header.Get(mark[0]); got != mark[1] {
		t.Fatalf("the reloaded config is not running: %s %q, want %q", mark[0], got, mark[1])
	}
	r.wantJSON(t, 401, map[string]any{"error": "otp_required"})
	if p := b.page(t, "/app", hdr...); p.StatusCode != 302 || !strings.HasPrefix(p.Header.Get("Location"), prefix+"/") {
		t.Errorf("browser: status %d Location %q, want 302 to the login page", p.StatusCode, p.Header.Get("Location"))
	}
	b.get(t, prefix+"/session", hdr...).wantJSON(t, 401, map[string]any{"error": "otp_required"})
}

func wantPhoneUpstream(t *testing.T, b *browser, phone string, hdr ...string) {
	t.Helper()
	if got := b.get(t, "/app", hdr...).echo(t).Headers["X-Verified-Phone"]; len(got) != 1 || got[0] != phone {
		t.Errorf("upstream X-Verified-Phone %q, want %s", got, phone)
	}
}

func TestIntegrationRulesAllowNarrowed(t *testing.T) {
	e := newEnv(t, opts{otp: "allow " + keptPhone + " " + cutPhone})
	kept, cut := newBrowser(), newBrowser()
	login(t, e.dex, kept.here(), keptPhone)
	login(t, e.dex, cut.here(), cutPhone)
	wantPhoneUpstream(t, cut, cutPhone)

	v := e.rulesReload(t, opts{otp: "allow " + keptPhone}, 1)
	wantCut(t, cut, v)
	wantPhoneUpstream(t, kept, keptPhone)
}

// A code sent while the rules admitted the phone, verified after a reload
// that no longer does, gives no session.
func TestIntegrationRulesPendingCode(t *testing.T) {
	e := newEnv(t, opts{otp: "allow " + keptPhone + " " + cutPhone})
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{"phone":"`+cutPhone+`"}`).wantJSON(t, 200, nil)
	code := e.dex.ReadCode(t, cutPhone)

	e.rulesReload(t, opts{otp: "allow " + keptPhone}, 1)
	r := b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`)
	r.wantJSON(t, 410, map[string]any{"error": "expired"})
	if r.setCookie("otp_session") != nil {
		t.Error("verify issued a session the rules no longer admit")
	}
	// Used up: the same code does not work once the rules admit it again.
	e.rulesReload(t, opts{otp: "allow " + keptPhone + " " + cutPhone}, 2)
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 410, map[string]any{"error": "expired"})
}

func TestIntegrationRulesCountriesNarrowed(t *testing.T) {
	e := newEnv(t, opts{otp: "countries US GB"})
	us, gb := newBrowser(), newBrowser()
	login(t, e.dex, us.here(), cutPhone)
	login(t, e.dex, gb.here(), gbPhone)
	wantPhoneUpstream(t, us, cutPhone)

	v := e.rulesReload(t, opts{otp: "countries GB"}, 1)
	wantCut(t, us, v)
	wantPhoneUpstream(t, gb, gbPhone)
}

func TestIntegrationRulesAllowFileEdited(t *testing.T) {
	file := filepath.Join(t.TempDir(), "phones.txt")
	write := func(content string) {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# phones\n" + keptPhone + "\n" + cutPhone + "\n")
	o := opts{otp: "allow_file " + file}
	e := newEnv(t, o)
	kept, cut := newBrowser(), newBrowser()
	login(t, e.dex, kept.here(), keptPhone)
	login(t, e.dex, cut.here(), cutPhone)
	wantPhoneUpstream(t, cut, cutPhone)

	// The Caddyfile is unchanged; only the file is edited.
	write(keptPhone + "\n")
	v := e.rulesReload(t, o, 1)
	wantCut(t, cut, v)
	wantPhoneUpstream(t, kept, keptPhone)

	// An emptied file admits nobody.
	write("# nobody\n")
	v = e.rulesReload(t, o, 2)
	wantCut(t, kept, v)
}

// A remembered device is refused once the rules no longer admit its
// user's phone, though the user is still listed with that phone.
func TestIntegrationRulesRememberedDevice(t *testing.T) {
	sf := newSecondFactor(t, "remember_device 720h", "")
	b := newBrowser()
	dev := sf.rememberAlice(t, b)
	carol := newBrowser()
	login(t, sf.dex, carol.here(), carolPhone, walk{typed: decoy, hdr: as("carol")})

	// While the rules admit alice, the device stands in for the SMS.
	b.postJSON(t, prefix+"/logout", ``, as("alice")...).wantJSON(t, 200, nil)
	b.get(t, "/app", as("alice")...).echo(t)

	// allow now names carol only: alice's session and her device both end.
	sf.extra = "remember_device 720h\n\t\tallow " + carolPhone
	sf.reload(t)
	wantCut(t, b, sf.reloadMark(), as("alice")...)
	thief := newBrowser()
	r := thief.get(t, "/app", as("alice", "Cookie", "otp_session_device="+dev.Value)...)
	r.wantJSON(t, 401, map[string]any{"error": "otp_required"})
	if r.setCookie("otp_session") != nil {
		t.Error("a session was issued from a device the rules no longer admit")
	}
	wantPhoneUpstream(t, carol, carolPhone, as("carol")...)

	// The device was refused, not forgotten: rules that admit alice again
	// let it stand in once more; countries that do not, end it again.
	sf.extra = "remember_device 720h"
	sf.reload(t)
	b.get(t, "/app", as("alice")...).echo(t)
	sf.extra = "remember_device 720h\n\t\tcountries GB"
	sf.reload(t)
	wantCut(t, b, sf.reloadMark(), as("alice")...)
}

// --- HTTPS behind a TLS-terminating proxy ---

const trustLocal = "servers {\n\t\ttrusted_proxies static 127.0.0.1/8\n\t}"

// secureFlow walks a form send and a JSON verify for phone with the
// extra request headers hdr, passing cookies by hand (a cookie jar keeps
// Secure cookies from a plain-HTTP URL). It returns every Set-Cookie line
// seen, by cookie name.
type secureFlow struct {
	e       *env
	b       *browser
	hdr     []string
	cookies map[string]*http.Cookie
}

func newSecureFlow(e *env, hdr ...string) *secureFlow {
	// No jar: every cookie goes where the test puts it.
	b := newBrowser()
	b.c.Jar = nil
	return &secureFlow{e: e, b: b, hdr: hdr, cookies: map[string]*http.Cookie{}}
}

func (f *secureFlow) keep(r *response) *response {
	for _, c := range r.Cookies() {
		f.cookies[c.Name] = c
	}
	return r
}

// with is hdr plus a Cookie header of the cookies kept so far, and more.
func (f *secureFlow) with(more ...string) []string {
	var parts []string
	for _, c := range f.cookies {
		if c.MaxAge >= 0 && c.Value != "" {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	out := append(append([]string(nil), f.hdr...), more...)
	if len(parts) > 0 {
		out = append(out, "Cookie", strings.Join(parts, "; "))
	}
	return out
}

// csrf loads the phone page and returns its form token.
func (f *secureFlow) csrf(t *testing.T) string {
	t.Helper()
	r := f.keep(f.b.page(t, prefix+"/", f.with()...))
	r.wantStatus(t, 200)
	return r.field(t, csrfRE)
}

// sendForm posts the phone form with Origin origin.
func (f *secureFlow) sendForm(t *testing.T, phone, origin string) *response {
	t.Helper()
	return f.keep(f.b.postForm(t, prefix+"/send", url.Values{"csrf": {f.csrf(t)}, "phone": {phone}}, f.with("Origin", origin)...))
}

func (f *secureFlow) verify(t *testing.T, phone string) *response {
	t.Helper()
	r := f.keep(f.b.postJSON(t, prefix+"/verify", `{"code":"`+f.e.dex.ReadCode(t, phone)+`"}`, f.with()...))
	r.wantJSON(t, 200, map[string]any{"status": "verified"})
	return r
}

func (f *secureFlow) logout(t *testing.T) *response {
	t.Helper()
	return f.keep(f.b.postJSON(t, prefix+"/logout", ``, f.with()...))
}

// wantSecure checks that every cookie named was set, Secure or not as
// secure says.
func (f *secureFlow) wantSecure(t *testing.T, secure bool, names ...string) {
	t.Helper()
	for _, n := range names {
		c := f.cookies[n]
		if c == nil {
			t.Errorf("no %s cookie was set", n)
			continue
		}
		if c.Secure != secure {
			t.Errorf("%s cookie: Secure %v, want %v (%s)", n, c.Secure, secure, c.Raw)
		}
	}
}

var allCookies = []string{"otp_session_csrf", "otp_session_challenge", "otp_session"}

func siteOrigin(scheme string) string {
	return scheme + "://" + strings.TrimPrefix(siteURL(), "http://")
}

func TestIntegrationProxyForwardedHTTPS(t *testing.T) {
	e := newEnv(t, opts{global: trustLocal})
	const phone = "+12015550221"
	f := newSecureFlow(e, "X-Forwarded-Proto", "https")

	// The visitor's browser is on https://host: an http:// Origin is
	// another origin.
	f.sendForm(t, phone, siteOrigin("http")).wantStatus(t, 403)
	if e.dex.Sent(phone) != 0 {
		t.Fatal("a form from another origin sent a code")
	}
	if r := f.sendForm(t, phone, siteOrigin("https")); r.StatusCode != 303 {
		t.Fatalf("form send with Origin https://host behind the proxy: status %d, want 303: %.600s", r.StatusCode, r.body)
	}
	f.verify(t, phone)
	f.wantSecure(t, true, allCookies...)
	wantPhoneUpstream(t, f.b, phone, f.with()...)

	if r := f.logout(t); r.setCookie("otp_session") == nil {
		t.Fatal("logout cleared no cookie")
	}
	f.wantSecure(t, true, "otp_session")

	// Caddy's own list value, last one wins, as reverse_proxy reads it.
	g := newSecureFlow(e, "X-Forwarded-Proto", "http", "X-Forwarded-Proto", "HTTPS")
	g.sendForm(t, "+12015550222", siteOrigin("https")).wantStatus(t, 303)
	g.wantSecure(t, true, "otp_session_csrf", "otp_session_challenge")
}

func TestIntegrationProxyForwardedHTTPSUntrusted(t *testing.T) {
	// No trusted_proxies: a client's X-Forwarded-Proto is only a header.
	e := newEnv(t, opts{})
	const phone = "+12015550223"
	f := newSecureFlow(e, "X-Forwarded-Proto", "https")
	f.sendForm(t, phone, siteOrigin("https")).wantStatus(t, 403)
	if r := f.sendForm(t, phone, siteOrigin("http")); r.StatusCode != 303 {
		t.Fatalf("form send with Origin http://host: status %d, want 303: %.600s", r.StatusCode, r.body)
	}
	f.verify(t, phone)
	f.wantSecure(t, false, allCookies...)

	// Trusted proxies that do not include the client change nothing either.
	e.load(t, opts{global: "servers {\n\t\ttrusted_proxies static 192.0.2.0/24\n\t}"})
	g := newSecureFlow(e, "X-Forwarded-Proto", "https")
	g.sendForm(t, "+12015550224", siteOrigin("https")).wantStatus(t, 403)
	g.wantSecure(t, false, "otp_session_csrf")
}

func TestIntegrationProxyCookieSecureAlways(t *testing.T) {
	e := newEnv(t, opts{otp: "cookie_secure always"})
	const phone = "+12015550225"
	f := newSecureFlow(e) // no X-Forwarded-Proto at all
	f.sendForm(t, phone, siteOrigin("http")).wantStatus(t, 403)
	if r := f.sendForm(t, phone, siteOrigin("https")); r.StatusCode != 303 {
		t.Fatalf("form send with Origin https://host: status %d, want 303: %.600s", r.StatusCode, r.body)
	}
	f.verify(t, phone)
	f.wantSecure(t, true, allCookies...)
	f.logout(t)
	f.wantSecure(t, true, "otp_session")
}
