package caddysms

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestResolveOptions(t *testing.T) {
	t.Setenv("SMS_CONFIG_TEST_KEY", "  k3y \n")
	var key, region, sender string
	err := ResolveOptions("acme", []Option{
		{Name: "api_key", Value: "{env.SMS_CONFIG_TEST_KEY}", Dst: &key, Required: true},
		{Name: "region", Value: " ", Default: "eu", Dst: &region},
		{Name: "sender", Value: "Shop", Default: "otp", Dst: &sender},
	})
	if err != nil || key != "k3y" || region != "eu" || sender != "Shop" {
		t.Fatalf("resolveOptions = %v: key %q, region %q, sender %q", err, key, region, sender)
	}
	for _, tc := range []struct{ name, value, want string }{
		{"typo placeholder", "{evn.SMS_CONFIG_TEST_KEY}", "acme: api_key: "},
		{"empty after placeholders", "{env.SMS_CONFIG_TEST_UNSET}", "acme: api_key is required"},
	} {
		dst := "before"
		err := ResolveOptions("acme", []Option{{Name: "api_key", Value: tc.value, Dst: &dst, Required: true}})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || dst != "before" {
			t.Errorf("%s: err %v, dst %q; want %q… and dst untouched", tc.name, err, dst, tc.want)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, tc := range []struct {
		endpoint, wantErr string
		warns             bool
	}{
		{"https://api.example.com/v1", "", false},
		{"http://127.0.0.1:8080", "", false},
		{"http://localhost:8080", "", false},
		{"http://[::1]:8080", "", false},
		{"http://gateway.internal", "", true},
		{"api.example.com", "absolute http", false},
		{"ftp://api.example.com", "absolute http", false},
		{"https://", "absolute http", false},
		{"https://user:pass@api.example.com", "must not hold credentials", false},
		{"https://api.example.com/?key=1", "must not hold credentials", false},
		{"https://api.example.com/#x", "must not hold credentials", false},
		{"https://api.example.com/%zz", "endpoint: ", false},
	} {
		core, logs := observer.New(zapcore.WarnLevel)
		u, err := CheckEndpoint("acme", tc.endpoint, zap.New(core))
		if tc.wantErr == "" && (err != nil || u == nil || u.String() != tc.endpoint) {
			t.Errorf("%q: %v, %v", tc.endpoint, u, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%q: err %v, want %q", tc.endpoint, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "pass") {
			t.Errorf("%q: error %q shows the password", tc.endpoint, err)
		}
		if got := logs.Len() == 1; got != tc.warns {
			t.Errorf("%q: plain-http warning %v, want %v", tc.endpoint, got, tc.warns)
		}
	}
}

func TestTimeoutOrDefault(t *testing.T) {
	for _, tc := range []struct {
		in      caddy.Duration
		want    time.Duration
		wantErr bool
	}{
		{0, sms.DefaultTimeout, false},
		{caddy.Duration(3 * time.Second), 3 * time.Second, false},
		{caddy.Duration(-time.Second), 0, true},
	} {
		got, err := TimeoutOrDefault("acme", tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("timeoutOrDefault(%s) = %s, %v", time.Duration(tc.in), got, err)
		}
	}
}

func TestClientError(t *testing.T) {
	plain := ClientError("acme", "send", "+12015550123", "654321", io.ErrUnexpectedEOF)
	var e *sms.Error
	if !errors.As(plain, &e) || e.Provider != "acme" || e.Op != "send" || !errors.Is(plain, io.ErrUnexpectedEOF) {
		t.Errorf("clientError(plain) = %#v", plain)
	}
	inner := &sms.Error{Provider: "httpapi", Op: "send", Status: 400, Message: "bad To +12015550123, code 654321"}
	err := ClientError("acme", "send", "+12015550123", "654321", fmt.Errorf("post: %w", inner))
	if !errors.As(err, &e) || e.Provider != "acme" || e.Status != 400 || e.Message != "bad To +1******0123, code ******" {
		t.Errorf("clientError(*Error) = %#v", err)
	}
	if inner.Provider != "httpapi" || !strings.Contains(inner.Message, "654321") {
		t.Errorf("clientError changed the client's error: %#v", inner)
	}
	if err := NotProvisioned("acme", "check"); !errors.As(err, &e) || e.Op != "check" || !sms.Definite(err) {
		t.Errorf("notProvisioned = %#v, want a definite refusal", err)
	}
}

func TestParseBlock(t *testing.T) {
	parse := func(input string) (key string, tags []string, timeout caddy.Duration, err error) {
		d := caddyfile.NewTestDispenser(input)
		err = ParseBlock(d, "acme", map[string]BlockOption{
			"key":     StringOpt("acme", &key),
			"timeout": TimeoutOpt("acme", &timeout),
			"tag": func(d *caddyfile.Dispenser) error {
				a, err := Args(d, "acme", 0)
				tags = append(tags, a...)
				return err
			},
		}, "tag")
		return
	}
	key, tags, timeout, err := parse("acme {\n key k\n timeout 2s\n tag a b\n tag c\n}")
	if err != nil || key != "k" || strings.Join(tags, ",") != "a,b,c" || timeout != caddy.Duration(2*time.Second) {
		t.Errorf("parse = %q %q %s %v", key, tags, time.Duration(timeout), err)
	}
	for _, tc := range []caddysmstest.CaddyfileCase{
		{Name: "argument on the name", Input: "acme x", Want: "Testfile:1"},
		{Name: "unknown option", Input: "acme {\n key k\n kye k\n}", Want: "unrecognized acme option 'kye', at Testfile:3"},
		{Name: "twice", Input: "acme {\n key a\n key b\n}", Want: "acme option 'key' already specified"},
		{Name: "two arguments", Input: "acme {\n key a b\n}", Want: "Testfile:2"},
		{Name: "no argument", Input: "acme {\n tag\n}", Want: "Testfile:2"},
		{Name: "block after the option", Input: "acme {\n key a {\n  x\n }\n}", Want: "acme option 'key' takes no block"},
		{Name: "bad duration", Input: "acme {\n timeout soon\n}", Want: "acme timeout 'soon'"},
		{Name: "zero duration", Input: "acme {\n timeout 0s\n}", Want: "must be positive"},
	} {
		if _, _, _, err := parse(tc.Input); err == nil || !strings.Contains(err.Error(), tc.Want) {
			t.Errorf("%s: err %v, want %q", tc.Name, err, tc.Want)
		}
	}
}
