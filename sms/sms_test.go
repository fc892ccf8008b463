package sms

import (
	"errors"
	"strings"
	"testing"
)

func TestScrubError(t *testing.T) {
	inner := &Error{Provider: "twilio", Op: "send", Status: 400,
		Message: "Invalid 'To' Phone Number: +12015550123 (code 48213579, url /d/%2B12015550123/48213579)"}
	err := Scrub(inner, "+12015550123", "48213579")
	for _, s := range []string{"12015550123", "48213579"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("scrubbed %q holds %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), "+1******0123") {
		t.Errorf("scrubbed %q lost the masked phone", err)
	}
	var e *Error
	if !errors.As(err, &e) || e != inner || !Definite(err) {
		t.Errorf("scrubbed error does not unwrap to the provider's: %v", err)
	}
	if Scrub(nil, "+12015550123", "1") != nil {
		t.Error("Scrub(nil) is not nil")
	}
}

func TestScrub(t *testing.T) {
	tests := []struct{ in, phone, code, want string }{
		{"Invalid 'To' Phone Number: +12015550123", "+12015550123", "", "Invalid 'To' Phone Number: +1******0123"},
		{"number 12015550123 barred", "+12015550123", "", "number 1******0123 barred"},
		{"code 654321 rejected", "+12015550123", "654321", "code ****** rejected"},
		{"", "+12015550123", "1", ""},
		{"nothing to hide", "", "", "nothing to hide"},
	}
	for _, tt := range tests {
		if got := ScrubText(tt.in, tt.phone, tt.code); got != tt.want {
			t.Errorf("ScrubText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
