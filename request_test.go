package caddyotp

import (
	"context"
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestSafeReturn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a?b=c", "/a?b=c"},
		{"/", "/"},
		{"/app/page#top", "/app/page#top"},
		{"/a/b/../c", "/a/b/../c"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"},
		{"/" + strings.Repeat("a", maxReturn-1), "/" + strings.Repeat("a", maxReturn-1)},
		{"//evil.example", "/"},
		{"//evil.example/path", "/"},
		{"/\\evil.example", "/"},
		{"/a\\b", "/"},
		{"https://evil.example", "/"},
		{"http:/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"javascript:x", "/"},
		{"data:text/html,x", "/"},
		{"", "/"},
		{"relative", "/"},
		{"relative/path", "/"},
		{"?q=1", "/"},
		{"#frag", "/"},
		{" /leading-space", "/"},
		{"/a\r\nSet-Cookie: x=1", "/"},
		{"/a\nb", "/"},
		{"/a\rb", "/"},
		{"/a\tb", "/"},
		{"/\t/evil.example", "/"},
		{"/a\x00b", "/"},
		{"/a\x7fb", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
		{"/" + strings.Repeat("a", maxReturn), "/"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		if got := safeReturn(tt.in); got != tt.want {
			t.Errorf("safeReturn(%q) = %q, want %q", name, got, tt.want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	h := &Handler{}
	cases := []struct {
		name string
		hdr  []string
		want bool
	}{
		{"no headers (curl)", nil, true},
		{"same origin", []string{"Origin", "http://example.com"}, true},
		{"other origin", []string{"Origin", "https://evil.example"}, false},
		// Our pages say Referrer-Policy: no-referrer, so browsers send
		// their own forms with Origin: null; Sec-Fetch-Site tells.
		{"own form under no-referrer", []string{"Origin", "null", "Sec-Fetch-Site", "same-origin"}, true},
		{"null origin from another site", []string{"Origin", "null", "Sec-Fetch-Site", "cross-site"}, false},
		{"sibling subdomain", []string{"Sec-Fetch-Site", "same-site"}, false},
		{"cross-site even with a matching Origin", []string{"Origin", "http://example.com", "Sec-Fetch-Site", "cross-site"}, false},
		{"referer same origin", []string{"Referer", "http://example.com/_otp/"}, true},
		{"referer other origin", []string{"Referer", "https://evil.example/x"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://example.com/_otp/send", nil)
			for i := 0; i+1 < len(c.hdr); i += 2 {
				r.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			if got := h.sameOrigin(r); got != c.want {
				t.Errorf("sameOrigin = %v, want %v", got, c.want)
			}
		})
	}
}

func TestIsHTTPS(t *testing.T) {
	cases := []struct {
		name    string
		secure  string // cookie_secure
		tls     bool
		trusted bool // the peer is in trusted_proxies
		proto   []string
		want    bool
	}{
		{"plain HTTP", "auto", false, false, nil, false},
		{"TLS", "auto", true, false, nil, true},
		{"always", "always", false, false, nil, true},
		{"trusted proxy says https", "auto", false, true, []string{"https"}, true},
		{"trusted proxy says HTTPS", "auto", false, true, []string{"HTTPS"}, true},
		{"trusted proxy says http", "auto", false, true, []string{"http"}, false},
		{"trusted proxy says nothing", "auto", false, true, nil, false},
		{"untrusted client says https", "auto", false, false, []string{"https"}, false},
		// The last value is the nearest proxy's, as reverse_proxy reads it.
		{"last line counts", "auto", false, true, []string{"http", "https"}, true},
		{"client's https before the proxy's http", "auto", false, true, []string{"https, http"}, false},
		{"last list element counts", "auto", false, true, []string{"http, https"}, true},
		{"not a scheme", "auto", false, true, []string{"httpsx"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &Handler{CookieSecure: c.secure}
			r := httptest.NewRequest("POST", "http://example.com/_otp/send", nil)
			r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey,
				map[string]any{caddyhttp.TrustedProxyVarKey: c.trusted}))
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for _, p := range c.proto {
				r.Header.Add("X-Forwarded-Proto", p)
			}
			if got := h.isHTTPS(r); got != c.want {
				t.Errorf("isHTTPS = %v, want %v", got, c.want)
			}
			// The origin check follows the same scheme.
			origin := map[bool]string{true: "https://example.com", false: "http://example.com"}
			r.Header.Set("Origin", origin[c.want])
			if !h.sameOrigin(r) {
				t.Errorf("Origin %s refused", origin[c.want])
			}
			r.Header.Set("Origin", origin[!c.want])
			if h.sameOrigin(r) {
				t.Errorf("Origin %s passed", origin[!c.want])
			}
		})
	}
}

func TestNormalizeCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"123456", "123456"},
		{"123 456", "123456"},
		{"123-456", "123456"},
		{" 12\t34-56 ", "123456"},
		{"12a456", "12a456"}, // other characters are the flow's to refuse
		{"", ""},
	}
	for _, tt := range tests {
		if got := normalizeCode(tt.in); got != tt.want {
			t.Errorf("normalizeCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
