// Package caddysmstest holds what the SMS provider modules' tests share:
// parsing and provisioning a module, the Caddyfile errors every provider
// must report, and a send that must go, be refused, or log no secret.
package caddysmstest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
)

// Provision provisions p in a fresh Caddy context.
func Provision(t *testing.T, p caddy.Provisioner) error {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return p.Provision(ctx)
}

// Parsed parses input into m and fails the test if it cannot.
func Parsed(t *testing.T, m caddyfile.Unmarshaler, input string) {
	t.Helper()
	if err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
}

// CaddyfileCase is an input that must fail to parse with an error
// holding want.
type CaddyfileCase struct{ Name, Input, Want string }

// OptionErrors are the cases every provider's block must refuse, with
// the line: an option it does not know (unknown, after option on line
// 2), option given twice, and option given two arguments.
func OptionErrors(module, option, unknown string) []CaddyfileCase {
	return []CaddyfileCase{
		{"unknown option", module + " {\n " + option + " a\n " + unknown + " x\n}", "Testfile:3"},
		{"duplicate", module + " {\n " + option + " a\n " + option + " b\n}", "already specified"},
		{"two arguments", module + " {\n " + option + " a b\n}", "Testfile:2"},
	}
}

// CaddyfileErrors checks that each input fails to parse with an error
// holding want and the file and line.
func CaddyfileErrors(t *testing.T, newModule func() caddyfile.Unmarshaler, tests []CaddyfileCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			err := newModule().UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.Input))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.Want) || !strings.Contains(err.Error(), "Testfile:") {
				t.Errorf("error %q lacks %q or the file and line", err, tt.Want)
			}
		})
	}
}

// ProvisionCase is an edit of a module that must provision, or fail
// with an error holding wantErr.
type ProvisionCase[P any] struct {
	Name    string
	Edit    func(P)
	WantErr string
}

// ProvisionErrors provisions each edit of base and checks the error.
func ProvisionErrors[T any, P interface {
	*T
	caddy.Provisioner
}](t *testing.T, base func() T, tests []ProvisionCase[P]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			m := base()
			tt.Edit(&m)
			err := Provision(t, P(&m))
			if tt.WantErr == "" {
				if err != nil {
					t.Fatalf("Provision: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.WantErr) {
				t.Fatalf("err = %v, want %q", err, tt.WantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

// Sent sends the usual message through p and checks that it went, with
// id wantID, for the plugin to check the code.
func Sent(t *testing.T, p sms.Provider, wantID string) {
	t.Helper()
	if res, err := p.Send(context.Background(), sms.Message{Phone: "+12015550123", Code: "123456", Text: "123456"}); err != nil || res.ID != wantID || res.Remote {
		t.Fatalf("Send = %+v, %v, want id %q", res, err, wantID)
	}
}

// Refused sends the usual message through p, which must refuse it: a
// definite *sms.Error of provider that is, as far as ok says, the gateway's
// answer, and that does not hold the whole phone.
func Refused(t *testing.T, p sms.Provider, provider string, ok func(*sms.Error) bool) {
	t.Helper()
	_, err := p.Send(context.Background(), sms.Message{Phone: "+12015550123", Code: "123456", Text: "123456"})
	var e *sms.Error
	if !errors.As(err, &e) || e.Provider != provider || !ok(e) || !sms.Definite(err) {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "5550123") {
		t.Errorf("error %q holds the whole phone", err)
	}
}

// LogsNoSecrets sends through the provider that newP makes, provisioned
// and with Debug logs on, once accepted (the gateway answers 200 and ok)
// and once refused (400 and refusal, which may quote what it was sent, as
// some gateways do), and looks for secret, the code and the whole phone in
// everything logged and returned. newP gets the fake gateway's URL and
// makes the module; setLogger hands it the observed logger.
func LogsNoSecrets[P interface {
	caddy.Provisioner
	sms.Provider
}](t *testing.T, name, secret string, newP func(endpoint string) P, setLogger func(P, *zap.Logger), ok, refusal string) {
	t.Helper()
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	for _, refuse := range []bool{false, true} {
		status, body := 200, ok
		if refuse {
			status, body = 400, refusal
		}
		srv := fakegw.NewReply(t, status, body)
		p := newP(srv.URL())
		if err := Provision(t, p); err != nil {
			t.Fatal(err)
		}
		core, logs := observer.New(zapcore.DebugLevel)
		setLogger(p, zap.New(core))
		_, err := p.Send(context.Background(), sms.Message{Phone: Phone, Code: Code, Text: Code + " is your code\n\n@x #" + Code})
		if refuse != (err != nil) {
			t.Fatalf("%s refuse=%v: err %v", name, refuse, err)
		}
		var seen []string
		if err != nil {
			seen = append(seen, err.Error())
		}
		for _, e := range logs.All() {
			seen = append(seen, e.Message, fmt.Sprint(e.ContextMap()))
		}
		for _, s := range seen {
			for _, bad := range []string{secret, Code, "5550123"} {
				if strings.Contains(s, bad) {
					t.Errorf("%s refuse=%v: %q holds %q", name, refuse, s, bad)
				}
			}
		}
	}
}

// Phone and Code are what LogsNoSecrets sends, for refusals that quote them.
const Phone, Code = "+12015550123", "482913"
