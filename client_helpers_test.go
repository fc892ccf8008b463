package caddyotp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// The integration tests' one HTTP client (browser, and at: a browser on
// one site or instance), its responses' checks, the one login and the one
// wrong code.

// browser is one simulated browser: its own cookie jar, and redirects
// returned rather than followed.
type browser struct{ c *http.Client }

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &browser{c: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			// Always the same client address, for the per-IP limits; and
			// no keep-alive, so a reload never meets an idle connection.
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", ports()[1]))
			},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// newVisitor is a browser that dials the host and port its URL names:
// one browser behind a load balancer, with one cookie jar for the site's
// host name ("localhost") whichever instance answers (cookies are per
// host, not per port, so each instance sees the same cookies); or a
// client of an admin endpoint.
func newVisitor() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	*http.Response
	body string
}

// try sends one request to base+path; hdr is name, value pairs, set
// with the name as written (not canonicalised), so odd casings reach the
// server. It fails the test in nothing, for requests sent concurrently.
func (b *browser) try(method, base, path, ctype, body string, hdr ...string) (*response, error) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s%s: %w", method, base, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s%s: read body: %w", method, base, path, err)
	}
	return &response{Response: resp, body: string(raw)}, nil
}

// doAt sends a request to base+path, as try does, and fails the test if
// it gets no answer. A newBrowser always dials the test's Caddy, so base
// ("http://name") sets only the request's Host, whatever the site.
func (b *browser) doAt(t *testing.T, method, base, path, ctype, body string, hdr ...string) *response {
	t.Helper()
	for try := 0; ; try++ {
		r, err := b.try(method, base, path, ctype, body, hdr...)
		// Right after a config load, the previous server may still take
		// a new connection and close it, unanswered, as it shuts down.
		// Nothing was handled then (a server only closes idle
		// connections), so the request is sent again, as a browser would.
		if err != nil && try < 3 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// do, get, postJSON and postForm are at's, on the test's site.
func (b *browser) do(t *testing.T, method, path, ctype, body string, hdr ...string) *response {
	t.Helper()
	return b.here().do(t, method, path, ctype, body, hdr...)
}

func (b *browser) get(t *testing.T, path string, hdr ...string) *response {
	t.Helper()
	return b.here().get(t, path, hdr...)
}

// page is a browser navigation.
func (b *browser) page(t *testing.T, path string, hdr ...string) *response {
	t.Helper()
	return b.get(t, path, append([]string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}, hdr...)...)
}

func (b *browser) postJSON(t *testing.T, path, body string, hdr ...string) *response {
	t.Helper()
	return b.here().postJSON(t, path, body, hdr...)
}

func (b *browser) postForm(t *testing.T, path string, v url.Values, hdr ...string) *response {
	t.Helper()
	return b.here().postForm(t, path, v, hdr...)
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	returnRE = regexp.MustCompile(`name="return" value="([^"]*)"`)
)

// csrf loads the phone page, as a browser does before it posts the form,
// and returns the form's token.
func (b *browser) csrf(t *testing.T) string {
	t.Helper()
	r := b.page(t, prefix+"/")
	r.wantStatus(t, 200)
	return r.field(t, csrfRE)
}

// field is a hidden form field's value in a page.
func (r *response) field(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", re, r.body)
	}
	return html.UnescapeString(m[1])
}

// text is the body with HTML escapes undone (html/template writes "+" as &#43;).
func (r *response) text() string { return html.UnescapeString(r.body) }

func (r *response) wantStatus(t *testing.T, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body: %.600s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
}

// wantJSON checks the status, that the body is a JSON object, and that it
// holds want's keys with want's values (compared as printed).
func (r *response) wantJSON(t *testing.T, status int, want map[string]any) map[string]any {
	t.Helper()
	r.wantStatus(t, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON; body: %.300s", ct, r.body)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("body is not a JSON object: %v: %.300s", err, r.body)
	}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s %s: %q is %v, want %v; body: %s", r.Request.Method, r.Request.URL.Path, k, got[k], v, r.body)
		}
	}
	return got
}

// wantRetryAfter checks a 429's Retry-After header and retry_after field
// agree and lie in [lo, hi] seconds.
func (r *response) wantRetryAfter(t *testing.T, got map[string]any, lo, hi int) {
	t.Helper()
	h, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || h < lo || h > hi {
		t.Errorf("Retry-After %q, want %d..%d", r.Header.Get("Retry-After"), lo, hi)
	}
	if fmt.Sprint(got["retry_after"]) != strconv.Itoa(h) {
		t.Errorf("retry_after %v, Retry-After %d: they should agree", got["retry_after"], h)
	}
}

func (r *response) setCookie(name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// at is a browser on one site or instance: its requests go to base, the
// site's URL (for a newBrowser, a host name on the test's Caddy).
type at struct {
	b    *browser
	base string
}

// on is b on the site or instance at base ("http://name:port").
func (b *browser) on(base string) *at { return &at{b: b, base: base} }

// here is b on the test's site.
func (b *browser) here() *at { return b.on(siteURL()) }

// do is browser.do on this site.
func (a *at) do(t *testing.T, method, path, ctype, body string, hdr ...string) *response {
	t.Helper()
	return a.b.doAt(t, method, a.base, path, ctype, body, hdr...)
}

// try is browser.try on this site.
func (a *at) try(method, path, ctype, body string, hdr ...string) (*response, error) {
	return a.b.try(method, a.base, path, ctype, body, hdr...)
}

func (a *at) get(t *testing.T, path string, hdr ...string) *response {
	t.Helper()
	return a.do(t, http.MethodGet, path, "", "", hdr...)
}

func (a *at) postJSON(t *testing.T, path, body string, hdr ...string) *response {
	t.Helper()
	return a.do(t, http.MethodPost, path, "application/json", body, hdr...)
}

func (a *at) postForm(t *testing.T, path string, v url.Values, hdr ...string) *response {
	t.Helper()
	return a.do(t, http.MethodPost, path, "application/x-www-form-urlencoded", v.Encode(), append([]string{"Accept", "text/html"}, hdr...)...)
}

// cookie is the value of the cookie name the browser holds for path on this site.
func (a *at) cookie(t *testing.T, name, path string) string {
	t.Helper()
	u, _ := url.Parse(a.base + path)
	for _, c := range a.b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("no cookie %s for %s", name, u)
	return ""
}

// walk is how a login goes when it does not go the common way.
type walk struct {
	verify *at      // where the verify goes, when not where the send went
	typed  string   // the phone the client sends, when a second factor ignores it
	hdr    []string // header pairs with both requests
}

// login signs phone in through the JSON flow on a and returns the session
// token: it sends phone (or w's typed number, which then must get no
// SMS), then the code dex texted to phone.
func login(t *testing.T, dex *fakegw.Dexatel, a *at, phone string, w ...walk) string {
	t.Helper()
	var o walk
	if len(w) > 0 {
		o = w[0]
	}
	verify, typed := o.verify, o.typed
	if verify == nil {
		verify = a
	}
	if typed == "" {
		typed = phone
	}
	before := dex.Sent(typed)
	a.postJSON(t, prefix+"/send", `{"phone":"`+typed+`"}`, o.hdr...).wantJSON(t, 200, map[string]any{"status": "sent"})
	if typed != phone && dex.Sent(typed) != before {
		t.Fatal("the code went to the phone the client sent")
	}
	r := verify.postJSON(t, prefix+"/verify", `{"code":"`+dex.ReadCode(t, phone)+`"}`, o.hdr...)
	r.wantJSON(t, 200, map[string]any{"status": "verified"})
	ck := r.setCookie("otp_session")
	if ck == nil || ck.Value == "" {
		t.Fatalf("verify set no otp_session cookie: %q", r.Header.Values("Set-Cookie"))
	}
	return ck.Value
}

// wrong is a well-formed code that is not code.
func wrong(code string) string {
	last := (code[len(code)-1]-'0'+1)%10 + '0'
	return code[:len(code)-1] + string(last)
}
