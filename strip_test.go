package caddyotp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestSameHeaderName(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"X-Verified-Phone", "X-Verified-Phone", true},
		{"x-verified-phone", "X-Verified-Phone", true},
		{"X_Verified_Phone", "X-Verified-Phone", true},
		{"x_VERIFIED-phone", "X-Verified-Phone", true},
		{"X-Verified-Phones", "X-Verified-Phone", false},
		{"X-Verified-Phon", "X-Verified-Phone", false},
		{"X-Verified.Phone", "X-Verified-Phone", true},
		{"X-Verified Phone", "X-Verified-Phone", false},
		{"", "X-Verified-Phone", false},
	}
	for _, tt := range tests {
		if got := sameHeaderName(tt.a, tt.b); got != tt.want {
			t.Errorf("sameHeaderName(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestStripIdentityHeader(t *testing.T) {
	for _, configured := range []string{"X-Verified-Phone", "x_verified_phone"} {
		t.Run(configured, func(t *testing.T) {
			h := &Handler{Header: configured}
			r, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
			// Set directly: Header.Set would canonicalise the odd keys.
			r.Header = http.Header{
				"X-Verified-Phone":       {"+15550000001"},
				"x-verified-phone":       {"+15550000002"},
				"X_Verified_Phone":       {"+15550000003"},
				"x_verified_phone":       {"+15550000004"},
				"X-VERIFIED-PHONE":       {"+15550000005"},
				"X-Verified-Phone-Extra": {"keep"},
				"X-Verified-Phones":      {"keep"},
				"X-Forwarded-For":        {"keep"},
				"Cookie":                 {"keep"},
			}
			h.stripIdentityHeader(r)
			var left []string
			for k := range r.Header {
				left = append(left, k)
			}
			slices.Sort(left)
			want := []string{"Cookie", "X-Forwarded-For", "X-Verified-Phone-Extra", "X-Verified-Phones"}
			if !reflect.DeepEqual(left, want) {
				t.Errorf("headers left = %q, want %q", left, want)
			}
		})
	}
}

func TestStripHeaderProvision(t *testing.T) {
	s := &StripHeader{}
	if err := s.Provision(caddy.Context{}); err != nil || s.Header != defaultHeader || s.identityMark != identityMark(defaultHeader) {
		t.Errorf("default: header %q, mark %q, %v", s.Header, s.identityMark, err)
	}
	if err := (&StripHeader{Header: "X Verified"}).Provision(caddy.Context{}); err == nil {
		t.Error("a header name with a space was taken")
	}
}

// TestStripHeaderServeHTTP: outside the matcher every client copy goes,
// duplicates and other spellings too, unless a phone_otp handler of the
// site marked the request as carrying the header it verified.
func TestStripHeaderServeHTTP(t *testing.T) {
	s := &StripHeader{Header: "X-Verified-Phone"}
	if err := s.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	serve := func(mark any) http.Header {
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		r.Header = http.Header{
			"X-Verified-Phone": {"+15550000001", "+15550000002"},
			"X_verified_phone": {"+15550000003"},
			"X-Verified.Phone": {"+15550000004"},
			"Accept":           {"*/*"},
		}
		repl := caddy.NewReplacer()
		if mark != nil {
			repl.Set(identityMark("x_VERIFIED_phone"), mark) // names that fold alike share it
		}
		r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
		var up http.Header
		if err := s.ServeHTTP(httptest.NewRecorder(), r, caddyhttp.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
			up = r.Header
			return nil
		})); err != nil || up == nil {
			t.Fatalf("next not called: %v", err)
		}
		return up
	}
	if got := serve(nil); !reflect.DeepEqual(got, http.Header{"Accept": {"*/*"}}) {
		t.Errorf("unmarked request: upstream headers %q", got)
	}
	if got := serve("yes"); len(got) != 1 {
		t.Errorf("a mark that is not true vouched for the header: %q", got)
	}
	if got := serve(true); len(got) != 4 {
		t.Errorf("marked request lost headers: %q", got)
	}
}
