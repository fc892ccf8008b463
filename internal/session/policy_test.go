package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// idleFixture is sessions with idle_timeout 10m, on a stepped clock.
func idleFixture(t *testing.T) *sessionFixture {
	f := newSessionFixture(t)
	f.s.Idle = 10 * time.Minute
	return f
}

func TestIdleTimeoutEndsUnusedSession(t *testing.T) {
	ctx := context.Background()
	f := idleFixture(t)
	tok, c, err := f.s.Issue(testPhone, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.LastSeen != f.clock.Now().Unix() {
		t.Fatalf("lst = %d, want now", c.LastSeen)
	}
	if _, err := f.s.Lookup(ctx, tok); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(9*time.Minute + 59*time.Second)
	if _, err := f.s.Lookup(ctx, tok); err != nil {
		t.Fatalf("used within idle_timeout: %v", err)
	}
	f.clock.Step(time.Second)
	if _, err := f.s.Lookup(ctx, tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("unused for idle_timeout (cached): err = %v, want expired", err)
	}
	// A fresh instance, with nothing cached, says the same.
	g := New(f.keys.Session, "phone_otp", testSessionTTL, f.store, "otp:test", f.clock.Now)
	g.Idle = f.s.Idle
	if _, err := g.Lookup(ctx, tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("unused for idle_timeout (fresh parse): err = %v, want expired", err)
	}
}

func TestIdleTimeoutSlides(t *testing.T) {
	ctx := context.Background()
	f := idleFixture(t)
	tok, issued, _ := f.s.Issue(testPhone, "alice", "")
	v, err := f.s.Lookup(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := f.s.Renew(v); ok {
		t.Fatal("renewed at once; want at most once a minute")
	}
	f.clock.Step(59 * time.Second)
	if _, _, ok := f.s.Renew(v); ok {
		t.Fatal("renewed after 59s; want at most once a minute")
	}
	f.clock.Step(time.Second)
	next, left, ok := f.s.Renew(v)
	if !ok || next == tok {
		t.Fatalf("not renewed after a minute: %v", ok)
	}
	if want := testSessionTTL - time.Minute; left != want {
		t.Errorf("renewed cookie lives %s, want %s (never past the first exp)", left, want)
	}
	if again, _, _ := f.s.Renew(v); again != next {
		t.Error("a second request with the old token made another token")
	}

	// Used every 9 minutes, the session outlives many idle_timeouts...
	for range 5 {
		f.clock.Step(9 * time.Minute)
		v, err = f.s.Lookup(ctx, next)
		if err != nil {
			t.Fatalf("session in use ended: %v", err)
		}
		if n, _, ok := f.s.Renew(v); ok {
			next = n
		}
	}
	c, err := f.s.Parse(next)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != issued.ID || !c.IssuedAt.Equal(issued.IssuedAt.Time) || !c.ExpiresAt.Equal(issued.ExpiresAt.Time) {
		t.Errorf("renewal changed jti, iat or exp: %+v, first %+v", c.RegisteredClaims, issued.RegisteredClaims)
	}
	// ...while the first token, never renewed, has gone idle.
	if _, err := f.s.Lookup(ctx, tok); err == nil {
		t.Error("the first token still works 46 minutes after its last use")
	}
	// Revoking the session revokes its renewed tokens: they share the jti.
	if err := f.s.Revoke(ctx, next, c); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(revalidateEvery)
	if _, err := f.s.Lookup(ctx, next); !errors.Is(err, ErrRevoked) {
		t.Errorf("renewed token after logout: err = %v, want revoked", err)
	}

	// session_ttl stays the absolute limit, however busy the session.
	tok, _, _ = f.s.Issue(testPhone, "alice", "")
	for used := time.Duration(0); used < testSessionTTL+time.Hour; used += 5 * time.Minute {
		v, err := f.s.Lookup(ctx, tok)
		if err != nil {
			if used < testSessionTTL-5*time.Minute {
				t.Fatalf("busy session ended after %s: %v", used, err)
			}
			return
		}
		if n, _, ok := f.s.Renew(v); ok {
			tok = n
		}
		f.clock.Step(5 * time.Minute)
	}
	t.Error("a busy session outlived session_ttl")
}
