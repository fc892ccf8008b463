package caddyotp

import (
	"net/http/httptest"
	"testing"
)

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
