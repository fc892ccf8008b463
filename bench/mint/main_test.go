package main

import (
	"context"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/store"
)

// TestMint: the tokens are distinct, for distinct phones, and pass the
// checks of the realm's handler (and not another realm's).
func TestMint(t *testing.T) {
	secret := []byte("bench-secret-0123456789abcdef0123456789")
	toks, err := mint(secret, "bench", "phone_otp", 25000, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory(nil)
	t.Cleanup(func() { st.Cleanup() })
	s := session.New(secret, "phone_otp", time.Hour, st, "realm:bench", time.Now)
	other := session.New(secret, "phone_otp", time.Hour, st, "realm:other", time.Now)
	seen, phones := map[string]bool{}, map[string]bool{}
	for i, tok := range toks {
		if seen[tok] {
			t.Fatalf("token %d repeats", i)
		}
		seen[tok] = true
		c, err := s.Check(context.Background(), tok)
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		phones[c.Subject] = true
		if i < 10 {
			if _, err := other.Check(context.Background(), tok); err == nil {
				t.Fatal("a token passed another realm's check")
			}
		}
	}
	if len(phones) != len(toks) {
		t.Errorf("%d phones for %d tokens", len(phones), len(toks))
	}
}
