package caddyotp

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TestCallProviderOption: `call` joins a second provider for calls; one
// that cannot call is a config error.
func TestCallProviderOption(t *testing.T) {
	c := newClock()
	h, _ := newPageHandler(t, `{"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"call":{"provider":"log"},"secret":"`+longSecret+`"}`, c)
	if !h.canCall {
		t.Error("with a call provider, no calls are offered")
	}
	bad := new(Handler)
	json.Unmarshal([]byte(`{"sms":{"provider":"log"},"call":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"secret":"`+longSecret+`"}`), bad)
	if err := bad.Provision(testContext(t)); err == nil || !strings.Contains(err.Error(), "cannot make calls") {
		t.Errorf("a call provider that cannot call: %v", err)
	}
}

// TestCallOptionCaddyfile: `call` takes a provider block like `sms`, and
// its errors name the file and line; the call provider must take
// code_length too.
func TestCallOptionCaddyfile(t *testing.T) {
	var h Handler
	in := "phone_otp {\n sms log\n call twilio_verify {\n  service_sid VA0123456789abcdef0123456789abcdef\n  channel call\n }\n logo_url /logo.svg\n}"
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(h.CallRaw), `"provider":"twilio_verify"`) || !strings.Contains(string(h.CallRaw), `"channel":"call"`) || h.LogoURL != "/logo.svg" {
		t.Errorf("call %s, logo_url %q", h.CallRaw, h.LogoURL)
	}
	for _, tt := range []struct{ input, want string }{
		{"phone_otp {\n call nosuch\n}", "Testfile:2"},
		{"phone_otp {\n call\n}", "call"},
		{"phone_otp {\n call log\n call log\n}", "already specified"},
		{"phone_otp {\n logo_url https://cdn.example.com/x.png\n}", "Testfile:2"},
		{"phone_otp {\n logo\n}", "logo"},
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.input, err, tt.want)
		}
	}
	bad := new(Handler)
	json.Unmarshal([]byte(`{"sms":{"provider":"log"},"code_length":10,"call":{"provider":"dexatel","api_key":"k","sender":"s","template":"t","channel":"VOICE"},"secret":"`+longSecret+`"}`), bad)
	if err := bad.Provision(testContext(t)); err == nil || !strings.Contains(err.Error(), "call provider") {
		t.Errorf("a call provider refusing code_length 10: %v", err)
	}
}
