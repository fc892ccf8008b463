package caddyotp

import "testing"

func TestOwnPath(t *testing.T) {
	h := &Handler{Prefix: "/_otp"}
	tests := []struct {
		path, rest string
		own        bool
	}{
		{"/_otp", "", true},
		{"/_otp/", "/", true},
		{"/_otp/send", "/send", true},
		{"/_otp/verify/x", "/verify/x", true},
		{"/_otpfoo", "", false}, // the site's, not ours
		{"/app/_otp/send", "", false},
		{"/", "", false},
	}
	for _, tt := range tests {
		rest, own := h.ownPath(tt.path)
		if rest != tt.rest || own != tt.own {
			t.Errorf("ownPath(%q) = %q, %v, want %q, %v", tt.path, rest, own, tt.rest, tt.own)
		}
	}
}
