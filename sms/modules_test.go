package sms

import (
	"context"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// Helpers shared by the provider modules' tests.

func provision(t *testing.T, p caddy.Provisioner) error {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return p.Provision(ctx)
}

// caddyfileErrors checks that each input fails to parse with an error
// holding want and the file and line.
func caddyfileErrors(t *testing.T, newModule func() caddyfile.Unmarshaler, tests []struct{ name, input, want string }) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newModule().UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Testfile:") {
				t.Errorf("error %q lacks %q or the file and line", err, tt.want)
			}
		})
	}
}

// provisionErrors provisions each edit of base and checks the error.
func provisionErrors[T any, P interface {
	*T
	caddy.Provisioner
}](t *testing.T, base func() T, tests []struct {
	name    string
	edit    func(P)
	wantErr string
}) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.edit(&m)
			err := provision(t, P(&m))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Provision: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

func TestModulesRegistered(t *testing.T) {
	for _, name := range []string{"twilio", "twilio_verify", "vonage", "webhook", "failover"} {
		mod, err := caddy.GetModule(Namespace + "." + name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, ok := mod.New().(Provider); !ok {
			t.Errorf("%s is not a Provider", name)
		}
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
		if got := scrub(tt.in, tt.phone, tt.code); got != tt.want {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
