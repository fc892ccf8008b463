package caddyotp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/store/memory"
)

func TestProvisionErrors(t *testing.T) {
	dir := t.TempDir()
	badFile := filepath.Join(dir, "phones.txt")
	if err := os.WriteFile(badFile, []byte("# team\n+12015550123\n\n+1 201 555 0124\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dexatel := `"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"}`
	log := `"sms":{"provider":"log"}`
	sec := `"secret":"` + longSecret + `"`

	tests := []struct {
		name string
		cfg  string
		want []string
	}{
		{"short secret", `{` + log + `,"secret":"short"}`, []string{"secret", "32 bytes"}},
		{"code_length 99", `{` + log + `,` + sec + `,"code_length":99}`, []string{"code_length"}},
		{"negative code_length", `{` + log + `,` + sec + `,"code_length":-1}`, []string{"code_length"}},
		{"code_ttl 1h", `{` + log + `,` + sec + `,"code_ttl":3600000000000}`, []string{"code_ttl"}},
		{"max_attempts 11", `{` + log + `,` + sec + `,"max_attempts":11}`, []string{"max_attempts"}},
		{"negative limit_global", `{` + log + `,` + sec + `,"limit_global":-5}`, []string{"limit_global"}},
		{"bad prefix", `{` + log + `,` + sec + `,"prefix":"otp"}`, []string{"prefix"}},
		{"bad header", `{` + log + `,` + sec + `,"header":"a b"}`, []string{"header"}},
		{"bad cookie_secure", `{` + log + `,` + sec + `,"cookie_secure":"never"}`, []string{"cookie_secure", "never"}},
		{"bad realm", `{` + log + `,` + sec + `,"realm":"a:b"}`, []string{"realm", "a:b"}},
		{"message without code", `{` + log + `,` + sec + `,"message":"hello"}`, []string{"message"}},
		{"allow not E.164", `{` + log + `,` + sec + `,"allow":["2015550123"]}`, []string{"allow"}},
		{"countries lowercase", `{` + log + `,` + sec + `,"countries":["de"]}`, []string{"countries"}},
		{"missing sms", `{` + sec + `}`, []string{"sms"}},
		{"unknown provider", `{"sms":{"provider":"nosuch"},` + sec + `}`, []string{"sms"}},
		{"unknown store", `{` + log + `,` + sec + `,"store":{"module":"nosuch"}}`, []string{"store"}},
		{"dexatel code_length 10", `{` + dexatel + `,` + sec + `,"code_length":10}`, []string{"code_length", "4 to 8"}},
		{"allow_file bad line", `{` + log + `,` + sec + `,"allow_file":"` + badFile + `"}`, []string{"allow_file", badFile + ":4"}},
		{"allow_file missing", `{` + log + `,` + sec + `,"allow_file":"` + filepath.Join(dir, "nope") + `"}`, []string{"allow_file", "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := provisionJSON(t, tt.cfg)
			if err == nil {
				t.Fatalf("no error for %s", tt.cfg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestProvisionDefaults(t *testing.T) {
	h, err := provisionJSON(t, `{"sms":{"provider":"log"},"secret":"`+longSecret+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	// The defaults SPEC.md documents.
	checks := []struct {
		name      string
		got, want any
	}{
		{"prefix", h.Prefix, "/_otp"},
		{"code_length", h.CodeLength, 6},
		{"code_ttl", time.Duration(h.CodeTTL), 5 * time.Minute},
		{"max_attempts", h.MaxAttempts, 3},
		{"block_for", time.Duration(h.BlockFor), 15 * time.Minute},
		{"resend_after", time.Duration(h.ResendAfter), 30 * time.Second},
		{"limit_phone", h.LimitPhone, 5},
		{"limit_ip", h.LimitIP, 20},
		{"limit_global", h.LimitGlobal, 1000},
		{"session_ttl", time.Duration(h.SessionTTL), 12 * time.Hour},
		{"issuer", h.Issuer, "phone_otp"},
		{"cookie_name", h.CookieName, "otp_session"},
		{"cookie_domain", h.CookieDomain, ""},
		{"cookie_secure", h.CookieSecure, "auto"},
		{"header", h.Header, "X-Verified-Phone"},
		{"message", h.Message, "{code} is your verification code for {host}."},
		{"allow", len(h.Allow), 0},
		{"countries", len(h.Countries), 0},
		{"region", h.region, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, ok := h.store.(*memory.Memory); !ok {
		t.Errorf("store = %T, want *memory.Memory", h.store)
	}
	if h.sender == nil || h.flow == nil || h.sessions == nil || h.chTokens == nil {
		t.Error("Provision left a part unset")
	}
	if p := h.flow.Policy.(phone.Policy); p.Allow != nil || p.Countries != nil {
		t.Errorf("default policy = %+v, want any phone", h.flow.Policy)
	}
}
