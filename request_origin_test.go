package caddyotp

import (
	"net/http/httptest"
	"testing"
)

// TestSameOriginIsExact: the origin a POST comes from must be this very
// one, scheme, host and port; one that merely starts or ends like it is
// another site (a host the attacker registered under ours, another port
// of the same host, the other scheme), as is one it merely starts like.
// Case does not count: browsers send it lower-case, and hosts are
// case-insensitive.
func TestSameOriginIsExact(t *testing.T) {
	h := &Handler{}
	cases := []struct {
		host, origin string
		want         bool
	}{
		{"example.com", "http://example.com", true},
		{"example.com", "HTTP://Example.COM", true},
		{"example.com:8080", "http://example.com:8080", true},
		{"example.com", "http://example.com.evil.example", false},
		{"example.com", "http://example.com:8080", false},
		{"example.com", "http://example.com:80", false},
		{"example.com", "https://example.com", false},
		{"example.com", "http://example.co", false},
		{"example.com", "http://example.comevil.example", false},
		{"example.com", "http://evil.example.com", false},
		{"example.com", "http://example.com@evil.example", false},
		{"example.com:8080", "http://example.com", false},
		{"example.com:8080", "http://example.com:80", false},
		{"example.com:8080", "http://example.com:8080.evil.example", false},
	}
	for _, c := range cases {
		for _, hdr := range []string{"Origin", "Referer"} {
			r := httptest.NewRequest("POST", "http://"+c.host+"/_otp/send", nil)
			r.Host = c.host
			v := c.origin
			if hdr == "Referer" {
				v += "/_otp/"
			}
			r.Header.Set(hdr, v)
			if got := h.sameOrigin(r); got != c.want {
				t.Errorf("host %s, %s %s: sameOrigin = %v, want %v", c.host, hdr, v, got, c.want)
			}
		}
	}
}
