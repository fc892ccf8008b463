package caddyotp_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bcrypt (cost 4, for speed) of "pass-word", for basic_auth.
const passHash = "$2a$04$tPm7g5ivlD8SAiSHcs7Gou2BFTtw1OdRC8KKAtHJROEOLKThExqRm"

const (
	alicePhone = "+12015550161"
	carolPhone = "+12015550162"
)

// secondFactor is a site with basic_auth for alice, bob and carol in
// front of phone_otp, whose users_file lists alice and carol only.
type secondFactor struct {
	*env
	users string // the users_file's path
	extra string // more phone_otp lines

	reloads int
}

func newSecondFactor(t *testing.T, extra, global string) *secondFactor {
	t.Helper()
	sf := &secondFactor{users: filepath.Join(t.TempDir(), "otp-users.txt"), extra: extra}
	sf.writeUsers(t, "# user phone\nalice "+alicePhone+"\ncarol "+carolPhone+"\n")
	sf.env = newEnv(t, sf.opts(global))
	return sf
}

func (sf *secondFactor) opts(global string) opts {
	return opts{
		global: global,
		site:   fmt.Sprintf("basic_auth {\n\t\talice %s\n\t\tbob %s\n\t\tcarol %s\n\t}", passHash, passHash, passHash),
		otp:    "users_file " + sf.users + "\n\t\t" + sf.extra,
	}
}

// reload loads the config again, as `caddy reload --force` does: Caddy
// skips a reload whose config is unchanged, and an edited users_file does
// not change the config, so each reload here differs in a header.
func (sf *secondFactor) reload(t *testing.T) {
	t.Helper()
	sf.reloads++
	o := sf.opts("")
	o.site += fmt.Sprintf("\n\theader X-Reload %d", sf.reloads)
	sf.load(t, o)
}

func (sf *secondFactor) writeUsers(t *testing.T, content string) {
	t.Helper()
	if err := os.WriteFile(sf.users, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// as is the Authorization header of user, for a request's hdr pairs.
func as(user string, more ...string) []string {
	return append([]string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":pass-word"))}, more...)
}

// decoy is the phone a second factor's client names, which must get no
// SMS: the code goes to the user's own.
const decoy = "+12015550199"

func TestIntegrationSecondFactor(t *testing.T) {
	sf := newSecondFactor(t, "", "")
	alice := newBrowser()

	// No password: basic_auth answers before phone_otp.
	alice.get(t, "/app").wantStatus(t, 401)
	// Password, no session: phone_otp asks for the second factor.
	alice.get(t, "/app", as("alice")...).wantJSON(t, 401, map[string]any{"error": "otp_required"})

	page := alice.page(t, prefix+"/", as("alice")...)
	page.wantStatus(t, 200)
	if !strings.Contains(page.text(), "+1******0161") {
		t.Errorf("phone page does not show alice's masked number:\n%s", page.body)
	}
	if strings.Contains(page.body, `name="phone"`) || strings.Contains(page.body, `name="country"`) {
		t.Errorf("phone page has a phone field in second-factor mode:\n%s", page.body)
	}
	if strings.Contains(page.text(), alicePhone) {
		t.Error("phone page shows the whole number")
	}

	// alice's pending code cannot be used by carol, and stays good for her.
	alice.postJSON(t, prefix+"/send", `{}`, as("alice")...).wantJSON(t, 200, nil)
	code := sf.dex.ReadCode(t, alicePhone)
	alice.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`, as("carol")...).wantJSON(t, 403, map[string]any{"error": "unknown_user"})
	alice.postJSON(t, prefix+"/resend", `{}`, as("carol")...).wantJSON(t, 403, map[string]any{"error": "unknown_user"})
	r := alice.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`, as("alice")...)
	r.wantJSON(t, 200, map[string]any{"status": "verified"})
	tok := r.setCookie("otp_session").Value
	e := alice.get(t, "/app", as("alice")...).echo(t)
	if got := e.Headers["X-Verified-Phone"]; len(got) != 1 || got[0] != alicePhone {
		t.Errorf("upstream X-Verified-Phone %q, want alice's", got)
	}
	if got := e.Headers["X-Auth-User-Id"]; len(got) != 1 || got[0] != "alice" {
		t.Errorf("upstream user %q, want alice (from basic_auth)", got)
	}
	alice.get(t, prefix+"/session", as("alice")...).wantJSON(t, 200, map[string]any{"phone": alicePhone, "user": "alice"})

	// alice's session does not pass for carol, nor does it make carol alice.
	carol := newBrowser()
	carol.get(t, "/app", as("carol", "Cookie", "otp_session="+tok)...).wantJSON(t, 401, map[string]any{"error": "otp_required"})
	carol.get(t, prefix+"/session", as("carol", "Cookie", "otp_session="+tok)...).wantStatus(t, 401)
	// carol logs in with her own phone.
	login(t, sf.dex, carol.here(), carolPhone, walk{typed: decoy, hdr: as("carol")})
	if got := carol.get(t, "/app", as("carol")...).echo(t).Headers["X-Verified-Phone"]; len(got) != 1 || got[0] != carolPhone {
		t.Errorf("carol upstream phone %q", got)
	}

	// bob passes basic_auth but is not in the file: 403, JSON and page.
	bob := newBrowser()
	before := sf.dex.Sent(alicePhone) + sf.dex.Sent(carolPhone)
	bob.postJSON(t, prefix+"/send", `{"phone":"`+alicePhone+`"}`, as("bob")...).wantJSON(t, 403, map[string]any{"error": "unknown_user"})
	if r := bob.page(t, prefix+"/", as("bob")...); r.StatusCode != 403 || strings.Contains(r.body, `name="phone"`) {
		t.Errorf("bob's phone page: status %d, want 403 and no form:\n%.600s", r.StatusCode, r.body)
	}
	// (Bob at alice's browser, whose pages have a form and a CSRF token.)
	csrf := alice.page(t, prefix+"/logout", as("alice")...).field(t, csrfRE)
	if r := alice.postForm(t, prefix+"/send", url.Values{"csrf": {csrf}, "phone": {alicePhone}}, as("bob")...); r.StatusCode != 403 || strings.Contains(r.body, `name="phone"`) {
		t.Errorf("bob's form send: status %d, want 403 and no phone form:\n%.600s", r.StatusCode, r.body)
	}
	if sf.dex.Sent(alicePhone)+sf.dex.Sent(carolPhone) != before {
		t.Error("an unlisted user got a code sent")
	}

	// A reload that drops alice cuts her session at once; carol's stays.
	sf.writeUsers(t, "carol "+carolPhone+"\n")
	sf.reload(t)
	alice.get(t, "/app", as("alice")...).wantStatus(t, 401)
	alice.postJSON(t, prefix+"/send", `{}`, as("alice")...).wantJSON(t, 403, map[string]any{"error": "unknown_user"})
	carol.get(t, "/app", as("carol")...).echo(t)

	// A reload that gives carol another phone cuts hers too.
	sf.writeUsers(t, "carol +12015550163\n")
	sf.reload(t)
	carol.get(t, "/app", as("carol")...).wantStatus(t, 401)
}

func TestIntegrationSecondFactorFormFlow(t *testing.T) {
	sf := newSecondFactor(t, "", "")
	b := newBrowser()
	page := b.page(t, prefix+"/?return=/app/here", as("alice", "Accept-Language", "de")...)
	page.wantStatus(t, 200)
	if !strings.Contains(page.text(), "Code per SMS an <strong>+1******0161</strong>") {
		t.Errorf("German phone page lacks the masked number:\n%s", page.body)
	}
	r := b.postForm(t, prefix+"/send", url.Values{"csrf": {page.field(t, csrfRE)}, "return": {"/app/here"}, "phone": {"+12015550199"}}, as("alice")...)
	if r.StatusCode != 303 {
		t.Fatalf("send: status %d: %.600s", r.StatusCode, r.body)
	}
	if sf.dex.Sent("+12015550199") != 0 {
		t.Fatal("the code went to the phone the form sent")
	}
	vp := b.page(t, prefix+"/verify", as("alice")...)
	vp.wantStatus(t, 200)
	if strings.Contains(vp.body, "Use a different number") {
		t.Error("code page offers another number in second-factor mode")
	}
	r = b.postForm(t, prefix+"/verify", url.Values{"csrf": {vp.field(t, csrfRE)}, "code": {sf.dex.ReadCode(t, alicePhone)}}, as("alice")...)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/app/here" {
		t.Fatalf("verify: status %d Location %q", r.StatusCode, r.Header.Get("Location"))
	}
	b.get(t, "/app/here", as("alice")...).echo(t)
}

func TestIntegrationBindIP(t *testing.T) {
	// Caddy takes the client IP from X-Forwarded-For of a trusted proxy.
	sf := newSecondFactor(t, "bind_ip", "servers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}")
	b := newBrowser()
	from := func(ip string) []string { return as("alice", "X-Forwarded-For", ip) }
	login(t, sf.dex, b.here(), alicePhone, walk{typed: decoy, hdr: as("alice", from("203.0.113.7")...)})
	b.get(t, "/app", from("203.0.113.7")...).echo(t)
	b.get(t, "/app", from("198.51.100.9")...).wantJSON(t, 401, map[string]any{"error": "otp_required"})
	b.get(t, prefix+"/session", from("198.51.100.9")...).wantStatus(t, 401)
	b.get(t, "/app", from("203.0.113.7")...).echo(t)
}

// rememberAlice signs alice in on b with "trust this browser" ticked and
// returns the device cookie she got.
func (sf *secondFactor) rememberAlice(t *testing.T, b *browser) *http.Cookie {
	t.Helper()
	b.postJSON(t, prefix+"/send", `{}`, as("alice")...).wantJSON(t, 200, nil)
	r := b.postJSON(t, prefix+"/verify", `{"code":"`+sf.dex.ReadCode(t, alicePhone)+`","remember":true}`, as("alice")...)
	r.wantJSON(t, 200, map[string]any{"status": "verified"})
	dev := r.setCookie("otp_session_device")
	if dev == nil {
		t.Fatal("no device cookie")
	}
	return dev
}

func TestIntegrationRememberDevice(t *testing.T) {
	sf := newSecondFactor(t, "remember_device 720h", "")
	b := newBrowser()
	dev := sf.rememberAlice(t, b)
	if !dev.HttpOnly || dev.SameSite != http.SameSiteLaxMode || dev.Path != "/" || dev.MaxAge != 720*3600 {
		t.Fatalf("device cookie %+v, want HttpOnly, Lax, Path=/, 30 days", dev)
	}
	// The upstream never sees it.
	if ck := b.get(t, "/app", as("alice")...).echo(t).Headers["Cookie"]; strings.Contains(strings.Join(ck, ";"), "otp_session") {
		t.Errorf("upstream got our cookies: %q", ck)
	}

	// Session gone (logged out without forgetting): the device skips the SMS.
	sent := sf.dex.Sent(alicePhone)
	b.postJSON(t, prefix+"/logout", ``, as("alice")...).wantJSON(t, 200, nil)
	r := b.get(t, "/app", as("alice")...)
	r.echo(t)
	if r.setCookie("otp_session") == nil {
		t.Error("no new session cookie from the remembered device")
	}
	b.get(t, prefix+"/session", as("alice")...).wantJSON(t, 200, map[string]any{"user": "alice"})
	if sf.dex.Sent(alicePhone) != sent {
		t.Error("an SMS was sent for a remembered device")
	}

	// alice's device does nothing for carol.
	carol := newBrowser()
	carol.get(t, "/app", as("carol", "Cookie", "otp_session_device="+dev.Value)...).wantJSON(t, 401, map[string]any{"error": "otp_required"})

	// Logout with "forget this browser" revokes it server-side.
	b.postJSON(t, prefix+"/logout", `{"forget":true}`, as("alice")...).wantJSON(t, 200, nil)
	b.get(t, "/app", as("alice")...).wantJSON(t, 401, map[string]any{"error": "otp_required"})
	thief := newBrowser()
	thief.get(t, "/app", as("alice", "Cookie", "otp_session_device="+dev.Value)...).wantJSON(t, 401, map[string]any{"error": "otp_required"})

	// Without "remember", no device cookie.
	b2 := newBrowser()
	b2.postJSON(t, prefix+"/send", `{}`, as("carol")...).wantJSON(t, 200, nil)
	r = b2.postJSON(t, prefix+"/verify", `{"code":"`+sf.dex.ReadCode(t, carolPhone)+`"}`, as("carol")...)
	if r.setCookie("otp_session_device") != nil {
		t.Error("device remembered without being asked")
	}
}
