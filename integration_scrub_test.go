package caddyotp_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/sms"
)

// TestIntegrationThirdPartyProviderErrorsScrubbed: a third-party SMS
// module need not clean its errors as phone_otp's own clients do. One
// whose send and check errors quote the phone and the code still leaves
// neither in Caddy's log: phone_otp scrubs what it logs of a provider's
// failure, the phone masked and the code starred out.
func TestIntegrationThirdPartyProviderErrorsScrubbed(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		phone      string
	}{
		{"send, code made here", "", "+12015550191"},
		{"check by the provider", "remote", "+12015550192"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caddyLog := filepath.Join(t.TempDir(), "caddy.log")
			newEnv(t, opts{
				global: fmt.Sprintf("log {\n\t\toutput file %s\n\t\tlevel DEBUG\n\t}", caddyLog),
				sms:    "sms otp_test_leaky " + tc.mode,
				otp:    "code_length 8",
			})
			b := newBrowser()
			secret := "97531864" // what the visitor types, for a check
			if tc.mode == "" {
				b.postJSON(t, prefix+"/send", `{"phone":"`+tc.phone+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
				code, ok := leakedCodes.Load(tc.phone)
				if !ok || len(code.(string)) != 8 {
					t.Fatalf("the provider was handed no code: %v", code)
				}
				secret = code.(string)
			} else {
				b.postJSON(t, prefix+"/send", `{"phone":"`+tc.phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
				b.postJSON(t, prefix+"/verify", `{"code":"`+secret+`"}`).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
			}

			sawError := false
			for _, line := range readLines(t, caddyLog) {
				for _, s := range []string{secret, strings.TrimPrefix(tc.phone, "+")} {
					if strings.Contains(line, s) {
						t.Errorf("the log holds %q:\n%s", s, line)
					}
				}
				// The failure is logged, with the provider's words.
				sawError = sawError || (strings.Contains(line, `"error"`) && strings.Contains(line, "leaky gateway refused"))
			}
			if !sawError {
				t.Error("the log lacks the provider's failure")
			}
		})
	}
}

// leakedCodes are the codes otp_test_leaky was handed, by phone.
var leakedCodes sync.Map

func init() {
	caddy.RegisterModule(leakySMS{})
}

// leakySMS is a third-party provider (`sms otp_test_leaky [remote]`)
// whose errors quote the phone and the code. Its sends fail; with remote,
// it makes codes itself, sends them, and its checks fail.
type leakySMS struct {
	Remote bool `json:"remote,omitempty"`
}

func (leakySMS) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".otp_test_leaky",
		New: func() caddy.Module { return new(leakySMS) },
	}
}

func (l *leakySMS) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		if d.Val() != "remote" {
			return d.ArgErr()
		}
		l.Remote = true
	}
	return nil
}

func (l *leakySMS) Send(_ context.Context, m sms.Message) (sms.Result, error) {
	if l.Remote {
		return sms.Result{ID: "leaky-1", Ref: "v1"}, nil
	}
	leakedCodes.Store(m.Phone, m.Code)
	return sms.Result{}, fmt.Errorf("leaky gateway refused %q for %s (%s)", m.Text, m.Phone, strings.TrimPrefix(m.Phone, "+"))
}

func (l *leakySMS) ChecksRemotely() bool { return l.Remote }

func (l *leakySMS) Check(_ context.Context, phone, code, _ string) (bool, error) {
	return false, fmt.Errorf("leaky gateway refused to check code %s for %s (%s)", code, phone, strings.TrimPrefix(phone, "+"))
}
