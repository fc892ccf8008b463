package caddyotp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/internal/flow"

	"github.com/caddyotp/caddyotp/internal/phone"
)

func TestProvisionSecondFactorOptions(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "users.txt")
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(good, []byte("alice +12015550123\n"), 0o600)
	os.WriteFile(bad, []byte("alice +12015550123\n# ok\ncarol 555\n"), 0o600)
	base := `"sms":{"provider":"log"},"secret":"` + longSecret + `"`
	tests := []struct {
		name string
		cfg  string
		want []string // substrings of the error; nil: no error
	}{
		{"users_file", `{` + base + `,"users_file":"` + good + `"}`, nil},
		{"users_file bad line", `{` + base + `,"users_file":"` + bad + `"}`, []string{"users_file", bad + ":3"}},
		{"users_file missing", `{` + base + `,"users_file":"` + filepath.Join(dir, "nope") + `"}`, []string{"users_file", "nope"}},
		{"idle_timeout 1m", `{` + base + `,"idle_timeout":60000000000}`, []string{"idle_timeout"}},
		{"remember_device alone", `{` + base + `,"remember_device":3600000000000}`, []string{"remember_device", "users_file"}},
		{"remember_device 1s", `{` + base + `,"users_file":"` + good + `","remember_device":1000000000}`, []string{"remember_device"}},
		{"all of them", `{` + base + `,"users_file":"` + good + `","remember_device":3600000000000,"idle_timeout":600000000000,"bind_ip":true}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := provisionJSON(t, tt.cfg)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if h.UserPlaceholder != defaultUserPlaceholder || h.userKey != "http.auth.user.id" {
					t.Errorf("user_placeholder %q (key %q), want the default", h.UserPlaceholder, h.userKey)
				}
				if h.users["alice"] != "+12015550123" {
					t.Errorf("users = %v", h.users)
				}
				return
			}
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

func TestUnmarshalCaddyfileSecondFactor(t *testing.T) {
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`phone_otp {
		sms log
		users_file /etc/caddy/otp-users.txt
		user_placeholder {http.request.header.X-User}
		idle_timeout 30m
		bind_ip
		remember_device 720h
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if h.UsersFile != "/etc/caddy/otp-users.txt" || h.UserPlaceholder != "{http.request.header.X-User}" ||
		h.IdleTimeout != caddy.Duration(30*time.Minute) || !h.BindIP || h.RememberDevice != caddy.Duration(720*time.Hour) {
		t.Errorf("parsed %+v", h)
	}

	for _, tt := range []struct{ in, want string }{
		{"idle_timeout 1m", "idle_timeout: 1m0s is out of range"},
		{"bind_ip yes", "bind_ip: wrong argument count"},
		{"users_file", "users_file: wrong argument count"},
		{"remember_device soon", "remember_device"},
		{"bind_ip\n\t\tbind_ip", "bind_ip: already specified"},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("phone_otp {\n\t\tsms log\n\t\t" + tt.in + "\n\t}"))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%q: err = %v, want %q with file and line", tt.in, err, tt.want)
		}
	}
}

func TestPlaceholderKey(t *testing.T) {
	for in, want := range map[string]string{
		"{http.auth.user.id}":      "http.auth.user.id",
		"{http.request.header.X}":  "http.request.header.X",
		"user-{http.auth.user.id}": "",
		"{a}{b}":                   "",
		"{}":                       "",
		"plain":                    "",
	} {
		if got := placeholderKey(in); got != want {
			t.Errorf("placeholderKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAcceptSession(t *testing.T) {
	listed := users{"alice": "+12015550123", "carol": "+12015550124"}
	only := func(phones ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, p := range phones {
			m[p] = struct{}{}
		}
		return m
	}
	for _, tt := range []struct {
		name        string
		users       users
		policy      phone.Policy
		user, phone string
		ok          bool
	}{
		{"listed", listed, phone.Policy{}, "alice", "+12015550123", true},
		{"listed too", listed, phone.Policy{}, "carol", "+12015550124", true},
		{"another's phone", listed, phone.Policy{}, "alice", "+12015550124", false},
		{"not listed (any more)", listed, phone.Policy{}, "bob", "+12015550125", false},
		{"phone-only session with users_file", listed, phone.Policy{}, "", "+12015550123", false},
		{"phone-only, no rules", nil, phone.Policy{}, "", "+12015550125", true},
		{"allowed", nil, phone.Policy{Allow: only("+12015550125")}, "", "+12015550125", true},
		{"off the allowlist", nil, phone.Policy{Allow: only("+12015550123")}, "", "+12015550125", false},
		{"empty allow_file", nil, phone.Policy{Allow: only()}, "", "+12015550125", false},
		{"country allowed", nil, phone.Policy{Countries: only("US")}, "", "+12015550125", true},
		{"country not allowed", nil, phone.Policy{Countries: only("GB")}, "", "+12015550125", false},
		{"listed, but off the allowlist", listed, phone.Policy{Allow: only("+12015550124")}, "alice", "+12015550123", false},
	} {
		h := &Handler{users: tt.users, flow: &flow.Flow{Policy: tt.policy}}
		err := h.acceptSession(&session.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: tt.phone}, User: tt.user})
		if (err == nil) != tt.ok {
			t.Errorf("%s: %q %s: err = %v, want ok=%v", tt.name, tt.user, tt.phone, err, tt.ok)
		}
	}
}
