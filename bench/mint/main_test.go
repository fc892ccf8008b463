package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/store/memory"
)

// TestMint: the tokens are distinct, for distinct phones, and pass the
// checks of the realm's handler (and not another realm's).
func TestMint(t *testing.T) {
	secret := []byte("bench-secret-0123456789abcdef0123456789")
	toks, err := mint(secret, "bench", "phone_otp", 10010, time.Hour) // past 10,000: the next NXX
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(nil)
	t.Cleanup(func() { st.Cleanup() })
	s := session.New(secret, "phone_otp", time.Hour, st, "realm:bench", time.Now)
	other := session.New(secret, "phone_otp", time.Hour, st, "realm:other", time.Now)
	seen, phones := map[string]bool{}, map[string]bool{}
	for i, tok := range toks {
		if seen[tok] {
			t.Fatalf("token %d repeats", i)
		}
		seen[tok] = true
		var c struct {
			Sub string `json:"sub"`
		}
		parts := strings.Split(tok, ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil || json.Unmarshal(payload, &c) != nil {
			t.Fatalf("token %d: payload %v", i, err)
		}
		phones[c.Sub] = true
		// Every 50th token and the last ten get the handler's whole
		// check (slow under -race).
		if i%50 != 0 && i < len(toks)-10 {
			continue
		}
		if _, err := s.Check(context.Background(), tok); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if _, err := other.Check(context.Background(), tok); err == nil {
			t.Fatal("a token passed another realm's check")
		}
	}
	if len(phones) != len(toks) {
		t.Errorf("%d phones for %d tokens", len(phones), len(toks))
	}
}
