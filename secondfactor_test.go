package caddyotp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// idleFixture is sessions with idle_timeout 10m, on a stepped clock.
func idleFixture(t *testing.T) *sessionFixture {
	f := newSessionFixture(t)
	f.s.idle = 10 * time.Minute
	return f
}

func TestIdleTimeoutEndsUnusedSession(t *testing.T) {
	ctx := context.Background()
	f := idleFixture(t)
	tok, c, err := f.s.issue(testPhone, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.LastSeen != f.clock.Now().Unix() {
		t.Fatalf("lst = %d, want now", c.LastSeen)
	}
	if _, err := f.s.lookup(ctx, tok); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(9*time.Minute + 59*time.Second)
	if _, err := f.s.lookup(ctx, tok); err != nil {
		t.Fatalf("used within idle_timeout: %v", err)
	}
	f.clock.Step(time.Second)
	if _, err := f.s.lookup(ctx, tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("unused for idle_timeout (cached): err = %v, want expired", err)
	}
	// A fresh instance, with nothing cached, says the same.
	g := newSessions(f.keys.session, "phone_otp", testSessionTTL, f.store, "otp:test", f.clock.Now)
	g.idle = f.s.idle
	if _, err := g.lookup(ctx, tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("unused for idle_timeout (fresh parse): err = %v, want expired", err)
	}
}

func TestIdleTimeoutSlides(t *testing.T) {
	ctx := context.Background()
	f := idleFixture(t)
	tok, issued, _ := f.s.issue(testPhone, "alice", "")
	v, err := f.s.lookup(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := f.s.renew(v); ok {
		t.Fatal("renewed at once; want at most once a minute")
	}
	f.clock.Step(59 * time.Second)
	if _, _, ok := f.s.renew(v); ok {
		t.Fatal("renewed after 59s; want at most once a minute")
	}
	f.clock.Step(time.Second)
	next, left, ok := f.s.renew(v)
	if !ok || next == tok {
		t.Fatalf("not renewed after a minute: %v", ok)
	}
	if want := testSessionTTL - time.Minute; left != want {
		t.Errorf("renewed cookie lives %s, want %s (never past the first exp)", left, want)
	}
	if again, _, _ := f.s.renew(v); again != next {
		t.Error("a second request with the old token made another token")
	}

	// Used every 9 minutes, the session outlives many idle_timeouts...
	for range 5 {
		f.clock.Step(9 * time.Minute)
		v, err = f.s.lookup(ctx, next)
		if err != nil {
			t.Fatalf("session in use ended: %v", err)
		}
		if n, _, ok := f.s.renew(v); ok {
			next = n
		}
	}
	c, err := f.s.parse(next)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != issued.ID || !c.IssuedAt.Equal(issued.IssuedAt.Time) || !c.ExpiresAt.Equal(issued.ExpiresAt.Time) {
		t.Errorf("renewal changed jti, iat or exp: %+v, first %+v", c.RegisteredClaims, issued.RegisteredClaims)
	}
	// ...while the first token, never renewed, has gone idle.
	if _, err := f.s.lookup(ctx, tok); err == nil {
		t.Error("the first token still works 46 minutes after its last use")
	}
	// Revoking the session revokes its renewed tokens: they share the jti.
	if err := f.s.revoke(ctx, next, c); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(revalidateEvery)
	if _, err := f.s.lookup(ctx, next); !errors.Is(err, errRevoked) {
		t.Errorf("renewed token after logout: err = %v, want revoked", err)
	}

	// session_ttl stays the absolute limit, however busy the session.
	tok, _, _ = f.s.issue(testPhone, "alice", "")
	for used := time.Duration(0); used < testSessionTTL+time.Hour; used += 5 * time.Minute {
		v, err := f.s.lookup(ctx, tok)
		if err != nil {
			if used < testSessionTTL-5*time.Minute {
				t.Fatalf("busy session ended after %s: %v", used, err)
			}
			return
		}
		if n, _, ok := f.s.renew(v); ok {
			tok = n
		}
		f.clock.Step(5 * time.Minute)
	}
	t.Error("a busy session outlived session_ttl")
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
		err := h.acceptSession(&claims{RegisteredClaims: jwt.RegisteredClaims{Subject: tt.phone}, User: tt.user})
		if (err == nil) != tt.ok {
			t.Errorf("%s: %q %s: err = %v, want ok=%v", tt.name, tt.user, tt.phone, err, tt.ok)
		}
	}
}

func TestDeviceTokens(t *testing.T) {
	ctx := context.Background()
	f := newSessionFixture(t)
	d := newDevices(f.keys.device, "phone_otp", 30*24*time.Hour, f.store, "otp:test", f.clock.Now)
	tok, err := d.issue("alice", testPhone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.check(ctx, tok, "alice", testPhone); err != nil {
		t.Fatalf("own device refused: %v", err)
	}
	if _, err := d.check(ctx, tok, "carol", testPhone); err == nil {
		t.Error("alice's device passes for carol")
	}
	if _, err := d.check(ctx, tok, "alice", "+12015550199"); err == nil {
		t.Error("device passes after alice's listed phone changed")
	}
	// A device token is not a session, and a session is not a device.
	if _, err := f.s.parse(tok); err == nil {
		t.Error("device token parses as a session")
	}
	stok, _, _ := f.s.issue(testPhone, "alice", "")
	if _, err := d.check(ctx, stok, "alice", testPhone); err == nil {
		t.Error("session token passes as a device")
	}
	// Nor does it pass in another domain, nor with a sub that is no phone.
	ok, err := deriveKeys(testSecret, "otp:other")
	if err != nil {
		t.Fatal(err)
	}
	od := newDevices(ok.device, "phone_otp", time.Hour, f.store, "otp:other", f.clock.Now)
	if _, err := od.check(ctx, tok, "alice", testPhone); err == nil {
		t.Error("device passes in another domain")
	}
	if bad, err := d.issue("alice", "alice<script>"); err != nil {
		t.Fatal(err)
	} else if _, err := d.parse(bad); err == nil {
		t.Error("device whose sub is no phone parses")
	}
	c, _ := d.parse(tok)
	if err := d.revoke(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := d.check(ctx, tok, "alice", testPhone); !errors.Is(err, errDeviceRevoked) {
		t.Errorf("forgotten device: err = %v, want revoked", err)
	}
	tok2, _ := d.issue("alice", testPhone)
	f.clock.Step(30*24*time.Hour + time.Second)
	if _, err := d.check(ctx, tok2, "alice", testPhone); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("expired device: err = %v", err)
	}
	bd := newDevices(f.keys.device, "phone_otp", time.Hour, brokenStore{}, "otp:test", f.clock.Now)
	tok3, _ := bd.issue("alice", testPhone)
	if _, err := bd.check(ctx, tok3, "alice", testPhone); !isStoreError(err) {
		t.Errorf("store down: err = %v, want a store error (fail closed)", err)
	}
}
