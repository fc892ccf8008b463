package caddyotp

import (
	"net/http"
	"reflect"
	"slices"
	"testing"
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
