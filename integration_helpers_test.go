package caddyotp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddyotp/caddyotp"
	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// The integration tests run the real Caddy in this process (caddytest).
// There is one Caddy per process, so they must not run in parallel.
const prefix = "/_otp"

// ports are Caddy's admin, HTTP and HTTPS ports, picked free once per
// process rather than caddytest's fixed 2999 and the usual 9080, so that
// two test processes on one machine do not configure each other's Caddy.
var ports = sync.OnceValue(func() (p [3]int) {
	for i := range p {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close() // held until all are picked, so they differ
		p[i] = l.Addr().(*net.TCPAddr).Port
	}
	return p
})

func siteURL() string { return fmt.Sprintf("http://localhost:%d", ports()[1]) }

// opts are the parts of the Caddyfile a test changes.
type opts struct {
	global string // lines in the global options
	otp    string // lines inside phone_otp { }
	dex    string // lines inside sms dexatel { }
	sms    string // a whole `sms <provider> {…}` in place of the fake Dexatel's
	site   string // lines in the site block, before phone_otp
}

// env is one running Caddy with a fake Dexatel and an upstream app that
// echoes what it receives.
type env struct {
	tc      *caddytest.Tester
	dex     *fakegw.Dexatel
	app     *httptest.Server
	storage string
	issuer  string
}

func newEnv(t *testing.T, o opts) *env {
	t.Helper()
	storage, err := os.MkdirTemp("", "phone_otp-it-")
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: should Caddy touch its storage as the test ends, a
	// failed RemoveAll must not fail the test (storage cleaning, which
	// would, is off).
	t.Cleanup(func() { os.RemoveAll(storage) })
	e := &env{
		tc:      caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: ports()[0]}),
		dex:     fakegw.NewDexatel(t),
		app:     newEchoApp(t),
		storage: storage,
		// Every phone_otp in the process shares one memory store; a
		// per-test issuer keeps each test's limits and blocks apart.
		issuer: fmt.Sprintf("it-%s-%d", regexp.MustCompile(`\W+`).ReplaceAllString(t.Name(), "-"), rand.Uint32()),
	}
	e.load(t, o)
	return e
}

// load (re)configures the running Caddy, as `caddy reload` would.
func (e *env) load(t *testing.T, o opts) {
	t.Helper()
	sms := o.sms
	if sms == "" {
		sms = fmt.Sprintf("sms dexatel {\n\t\t\tapi_key %s\n\t\t\tsender TestBrand\n\t\t\ttemplate tpl-1\n\t\t\tendpoint %s\n\t\t\t%s\n\t\t}",
			fakegw.DexatelKey, e.dex.URL(), o.dex)
	}
	e.tc.InitServer(fmt.Sprintf(`{
	admin localhost:%d
	http_port %d
	https_port %d
	skip_install_trust
	persist_config off
	storage file_system %s
	storage_check off
	storage_clean_interval off
	%s
}
%s {
	%s
	phone_otp {
		%s
		issuer %s
		%s
	}
	reverse_proxy %s {
		header_up X-Auth-User-Id {http.auth.user.id}
		header_up X-Auth-User-Phone {http.auth.user.phone}
	}
}
`, ports()[0], ports()[1], ports()[2], e.storage, o.global, siteURL(), o.site, sms, e.issuer, o.otp, e.app.Listener.Addr()), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	waitServing(t)
}

// waitServing returns once the site answers on a fresh connection. While
// Caddy hands its listener from the old config's server to the new one, a
// connection can be reset; a test must not mistake that for the plugin.
func waitServing(t *testing.T) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	for i := 0; ; i++ {
		resp, err := c.Get(siteURL() + prefix + "/session")
		if err == nil {
			resp.Body.Close()
			if i == 0 {
				// Once more, past the old server's shutdown.
				continue
			}
			return
		}
		if i == 50 {
			t.Fatalf("site not serving after reload: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// login walks the JSON flow for phone and returns the session token.
func (e *env) login(t *testing.T, b *browser, phone string) string {
	t.Helper()
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	r := b.postJSON(t, prefix+"/verify", `{"code":"`+e.dex.ReadCode(t, phone)+`"}`)
	r.wantJSON(t, 200, map[string]any{"status": "verified"})
	ck := r.setCookie("otp_session")
	if ck == nil || ck.Value == "" {
		t.Fatalf("verify set no otp_session cookie: %q", r.Header.Values("Set-Cookie"))
	}
	return ck.Value
}

// echoApp is the upstream: it answers with what it received.
type echoed struct {
	URI     string              `json:"uri"`
	Headers map[string][]string `json:"headers"`
}

func newEchoApp(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoed{URI: r.RequestURI, Headers: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

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

type response struct {
	*http.Response
	body string
}

// do sends a request; hdr is name, value pairs, set with the name as
// written (not canonicalised), so odd casings reach the server.
func (b *browser) do(t *testing.T, method, path, ctype, body string, hdr ...string) *response {
	t.Helper()
	var resp *http.Response
	for try := 0; ; try++ {
		req, err := http.NewRequest(method, siteURL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1])
		}
		resp, err = b.c.Do(req)
		// Right after a config load, the previous server may still take
		// a new connection and close it, unanswered, as it shuts down.
		// Nothing was handled then (a server only closes idle
		// connections), so the request is sent again, as a browser would.
		if err != nil && try < 3 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		break
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &response{Response: resp, body: string(raw)}
}

func (b *browser) get(t *testing.T, path string, hdr ...string) *response {
	t.Helper()
	return b.do(t, http.MethodGet, path, "", "", hdr...)
}

// page is a browser navigation.
func (b *browser) page(t *testing.T, path string, hdr ...string) *response {
	t.Helper()
	return b.get(t, path, append([]string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}, hdr...)...)
}

func (b *browser) postJSON(t *testing.T, path, body string, hdr ...string) *response {
	t.Helper()
	return b.do(t, http.MethodPost, path, "application/json", body, hdr...)
}

func (b *browser) postForm(t *testing.T, path string, v url.Values, hdr ...string) *response {
	t.Helper()
	return b.do(t, http.MethodPost, path, "application/x-www-form-urlencoded", v.Encode(), append([]string{"Accept", "text/html"}, hdr...)...)
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

func (r *response) echo(t *testing.T) echoed {
	t.Helper()
	r.wantStatus(t, 200)
	var e echoed
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Headers == nil {
		t.Fatalf("not the upstream app's answer: %v: %.300s", err, r.body)
	}
	return e
}

// lastChallenge is the challenge cookie the browser holds.
func (b *browser) lastChallenge(t *testing.T) string {
	t.Helper()
	u, _ := url.Parse(siteURL() + prefix + "/verify")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "otp_session_challenge" {
			return c.Value
		}
	}
	t.Fatal("no challenge cookie in the jar")
	return ""
}

func (r *response) setCookie(name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
