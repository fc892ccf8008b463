package caddyotp

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestLoginRequired(t *testing.T) {
	h, _ := newPageHandler(t, pageCfg, newClock())
	for _, tc := range []struct {
		method, accept string
		browser        bool
	}{
		{"GET", "text/html,application/xhtml+xml", true},
		{"HEAD", "text/html", true},
		{"GET", "application/json", false},
		{"GET", "", false},
		{"POST", "text/html", false},
	} {
		r := httptest.NewRequest(tc.method, "http://example.com/app/page?x=1", nil)
		r.Header.Set("Accept", tc.accept)
		w := httptest.NewRecorder()
		if err := h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
			t.Errorf("%s %s: a request without a session went upstream", tc.method, tc.accept)
			return nil
		})); err != nil {
			t.Fatal(err)
		}
		if tc.browser {
			if w.Code != http.StatusFound || w.Header().Get("Location") != "/_otp/?return=%2Fapp%2Fpage%3Fx%3D1" || w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s %q: %d to %q", tc.method, tc.accept, w.Code, w.Header().Get("Location"))
			}
			continue
		}
		wantJSON(t, w, 401, map[string]any{"error": "otp_required", "login": "/_otp/"})
	}
}

// TestServeHTTPUpstream: with a session, upstream gets the verified phone
// as the only copy of the header, and none of phone_otp's cookies.
func TestServeHTTPUpstream(t *testing.T) {
	h, sender := newPageHandler(t, pageCfg, newClock())
	v := newVisitor(t, h, "")
	signIn(t, v, sender, phoneA)

	r := httptest.NewRequest("GET", "http://example.com/app", nil)
	r.Header = http.Header{"X_verified_phone": {phoneB}, "X-Verified-Phone": {phoneB}}
	for k, val := range v.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: val})
	}
	r.AddCookie(&http.Cookie{Name: "app", Value: "1"})
	var up *http.Request
	err := h.ServeHTTP(httptest.NewRecorder(), r, caddyhttp.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
		up = r
		return nil
	}))
	if err != nil || up == nil {
		t.Fatalf("not passed upstream: %v", err)
	}
	want := http.Header{"X-Verified-Phone": {phoneA}, "Cookie": {"app=1"}}
	if !reflect.DeepEqual(up.Header, want) {
		t.Errorf("upstream headers %q, want %q", up.Header, want)
	}
}
