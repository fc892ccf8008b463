package caddyotp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	_ "github.com/caddyserver/caddy/v2/modules/standard" // forward_auth, reverse_proxy
)

// authRequest is a proxy's auth request to /_otp/auth (target, with any
// query), from a peer in trusted_proxies or not, with header pairs.
func authRequest(target string, trusted bool, hdr ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.example"+target, nil)
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey,
		map[string]any{caddyhttp.TrustedProxyVarKey: trusted}))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return r
}

func TestForwardLogin(t *testing.T) {
	const deep = "/app/deep?x=1"
	cases := []struct {
		name    string
		target  string
		trusted bool
		hdr     []string
		want    string // the Location: login page and its return
	}{
		{"trusted X-Forwarded-Uri", "/_otp/auth", true, []string{"X-Forwarded-Uri", deep}, "/_otp/?return=" + url.QueryEscape(deep)},
		{"trusted X-Original-URI (nginx)", "/_otp/auth", true, []string{"X-Original-URI", deep}, "/_otp/?return=" + url.QueryEscape(deep)},
		{"X-Forwarded-Uri before X-Original-URI", "/_otp/auth", true, []string{"X-Original-URI", "/other", "X-Forwarded-Uri", deep}, "/_otp/?return=" + url.QueryEscape(deep)},
		{"the nearest proxy's line counts", "/_otp/auth", true, []string{"X-Forwarded-Uri", "/client", "X-Forwarded-Uri", deep}, "/_otp/?return=" + url.QueryEscape(deep)},
		{"untrusted X-Forwarded-Uri ignored", "/_otp/auth", false, []string{"X-Forwarded-Uri", deep}, "/_otp/?return=%2F"},
		{"untrusted X-Original-URI ignored", "/_otp/auth", false, []string{"X-Original-URI", deep}, "/_otp/?return=%2F"},
		{"trusted, no headers", "/_otp/auth", true, nil, "/_otp/?return=%2F"},

		// Open redirects, from a trusted proxy that passed on what a
		// client asked for.
		{"uri //evil.com", "/_otp/auth", true, []string{"X-Forwarded-Uri", "//evil.com"}, "/_otp/?return=%2F"},
		{"uri https://evil.com", "/_otp/auth", true, []string{"X-Forwarded-Uri", "https://evil.com"}, "/_otp/?return=%2F"},
		{`uri /\evil.com`, "/_otp/auth", true, []string{"X-Forwarded-Uri", `/\evil.com`}, "/_otp/?return=%2F"},
		{"uri evil.com", "/_otp/auth", true, []string{"X-Original-URI", "evil.com"}, "/_otp/?return=%2F"},
		{"uri with CRLF", "/_otp/auth", true, []string{"X-Forwarded-Uri", "/a\r\nSet-Cookie: x=1"}, "/_otp/?return=%2F"},

		// rd, in the auth URL of the proxy's config.
		{"rd path", "/_otp/auth?rd=" + url.QueryEscape(deep), false, nil, "/_otp/?return=" + url.QueryEscape(deep)},
		{"rd wins over the forwarded URI", "/_otp/auth?rd=%2Fthere", true, []string{"X-Forwarded-Uri", deep}, "/_otp/?return=%2Fthere"},
		{"empty rd: the forwarded URI", "/_otp/auth?rd=", true, []string{"X-Forwarded-Uri", deep}, "/_otp/?return=" + url.QueryEscape(deep)},
		{"rd URL on the site's host", "/_otp/auth?rd=" + url.QueryEscape("http://app.example"+deep), false, nil, "/_otp/?return=" + url.QueryEscape(deep)},
		{"rd URL on the forwarded host", "/_otp/auth?rd=" + url.QueryEscape("https://app.example:8443"+deep), true,
			[]string{"X-Forwarded-Host", "app.example:8443", "X-Forwarded-Proto", "https"}, "https://app.example:8443/_otp/?return=" + url.QueryEscape(deep)},
		{"rd //evil.com", "/_otp/auth?rd=" + url.QueryEscape("//evil.com"), true, nil, "/_otp/?return=%2F"},
		{"rd https://evil.com", "/_otp/auth?rd=" + url.QueryEscape("https://evil.com/x"), true, nil, "/_otp/?return=%2F"},
		{`rd /\evil.com`, "/_otp/auth?rd=" + url.QueryEscape(`/\evil.com`), true, nil, "/_otp/?return=%2F"},
		{"rd on another scheme", "/_otp/auth?rd=" + url.QueryEscape("https://app.example"+deep), false, nil, "/_otp/?return=%2F"},
		{"rd with user info", "/_otp/auth?rd=" + url.QueryEscape("http://app.example@evil.com/"), false, nil, "/_otp/?return=%2F"},
		{"rd userinfo on the host", "/_otp/auth?rd=" + url.QueryEscape("http://evil.com@app.example/"), false, nil, "/_otp/?return=%2F"},
		{"rd javascript:", "/_otp/auth?rd=" + url.QueryEscape("javascript:alert(1)"), false, nil, "/_otp/?return=%2F"},
		{"rd on an untrusted forwarded host", "/_otp/auth?rd=" + url.QueryEscape("http://evil.com/x"), false,
			[]string{"X-Forwarded-Host", "evil.com"}, "/_otp/?return=%2F"},

		// The login page's host.
		{"trusted X-Forwarded-Host makes it absolute", "/_otp/auth", true,
			[]string{"X-Forwarded-Host", "app.example", "X-Forwarded-Proto", "https", "X-Forwarded-Uri", deep}, "https://app.example/_otp/?return=" + url.QueryEscape(deep)},
		{"untrusted X-Forwarded-Host ignored", "/_otp/auth", false,
			[]string{"X-Forwarded-Host", "evil.com", "X-Forwarded-Proto", "https"}, "/_otp/?return=%2F"},
		{"X-Forwarded-Host that is no host", "/_otp/auth", true,
			[]string{"X-Forwarded-Host", "evil.com/x?", "X-Forwarded-Uri", deep}, "/_otp/?return=" + url.QueryEscape(deep)},
		{"X-Forwarded-Host list: the last", "/_otp/auth", true,
			[]string{"X-Forwarded-Host", "evil.com, app.example"}, "http://app.example/_otp/?return=%2F"},
	}
	h := &Handler{Prefix: "/_otp"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := authRequest(c.target, c.trusted, c.hdr...)
			if got := h.forwardLogin(r, r.URL.Query().Get("rd")); got != c.want {
				t.Errorf("login = %q, want %q", got, c.want)
			}
		})
	}
}

// TestForwardAuthNoSession: 401 by default (nginx), 302 when the proxy
// asks for it, both with the login page as Location and no-store; the
// body says no more than that a login is needed.
func TestForwardAuthNoSession(t *testing.T) {
	h := &Handler{Prefix: "/_otp"}
	deep := []string{"X-Forwarded-Uri", "/app/deep?x=1"}
	login := "/_otp/?return=%2Fapp%2Fdeep%3Fx%3D1"
	cases := []struct {
		name   string
		target string
		hdr    []string
		status int
	}{
		{"plain", "/_otp/auth", deep, http.StatusUnauthorized},
		{"rd", "/_otp/auth?rd", deep, http.StatusFound},
		{"redirect header", "/_otp/auth", append([]string{"X-Phone-OTP-Redirect", "1"}, deep...), http.StatusFound},
		{"redirect header not 1", "/_otp/auth", append([]string{"X-Phone-OTP-Redirect", "0"}, deep...), http.StatusUnauthorized},
	}
	for _, c := range cases {
		for _, method := range []string{"GET", "HEAD", "POST", "DELETE"} {
			t.Run(c.name+" "+method, func(t *testing.T) {
				r := authRequest(c.target, true, c.hdr...)
				r.Method = method
				w := httptest.NewRecorder()
				h.serveOwn(w, r, "/auth")
				if w.Code != c.status {
					t.Fatalf("status %d, want %d", w.Code, c.status)
				}
				if loc := w.Header().Get("Location"); loc != login {
					t.Errorf("Location %q, want %q", loc, login)
				}
				if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q", cc)
				}
				if w.Header().Get("X-Verified-Phone") != "" || w.Header().Get(userHeader) != "" {
					t.Errorf("identity headers on a refusal: %v", w.Header())
				}
				body := w.Body.String()
				if c.status == http.StatusFound && body != "" {
					t.Errorf("302 with a body: %q", body)
				}
				if c.status == http.StatusUnauthorized && !strings.HasPrefix(body, `{"error":"otp_required"`) {
					t.Errorf("401 body %q", body)
				}
			})
		}
	}
}

func TestValidHostPort(t *testing.T) {
	for s, want := range map[string]bool{
		"app.example": true, "app.example:8443": true, "127.0.0.1:80": true, "[::1]:443": true,
		"": false, "evil.com/x": false, "a b": false, "evil.com\r\n": false, "user@evil.com": false,
		".evil": false, ":80": false, strings.Repeat("a", 256): false,
	} {
		if got := validHostPort(s); got != want {
			t.Errorf("validHostPort(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestForwardAuthDocsAdapt adapts every Caddyfile of docs/forward-auth.md:
// the auth service's site and the front Caddy's forward_auth, which the
// integration tests run with other addresses.
func TestForwardAuthDocsAdapt(t *testing.T) {
	data, err := os.ReadFile("docs/forward-auth.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	want := []string{`"handler":"phone_otp"`, `"handler":"reverse_proxy"`}
	if len(blocks) != len(want) {
		t.Fatalf("%d Caddyfiles in docs/forward-auth.md, want %d", len(blocks), len(want))
	}
	for i, b := range blocks {
		out, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(b[1]), nil)
		if err != nil {
			t.Fatalf("adapt:\n%s\n%v", b[1], err)
		}
		for _, w := range warn {
			t.Errorf("adapt warns: %s", w.Message)
		}
		if !strings.Contains(string(out), want[i]) {
			t.Errorf("Caddyfile %d adapts without %s:\n%s", i, want[i], out)
		}
	}
}
