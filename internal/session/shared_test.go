package session

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store/memory"
)

// TestSharedAcrossReload: a second config's Sessions over the first one's
// Shared (a reload) passes the sessions the first verified with no store
// call, admits them under its own rules (a narrowed rule refuses at once,
// a shorter idle_timeout ends them sooner), and still sees a revocation
// made on the old one at once.
func TestSharedAcrossReload(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	st := &countingStore{Memory: memory.New(f.clock.Now)}
	t.Cleanup(func() { st.Cleanup() })
	sh := NewShared(st, "otp:test", f.clock.Now)
	t.Cleanup(sh.Close)
	old := sh.Sessions(f.keys.Session, "phone_otp", testSessionTTL, st, "otp:test", f.clock.Now)
	var toks []string
	for range 3 {
		tok, _, err := old.Issue(testPhone, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Check(ctx, tok); err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}

	// The reload: the same domain, key, issuer and store; a rule that
	// refuses the second session.
	cur := sh.Sessions(f.keys.Session, "phone_otp", testSessionTTL, st, "otp:test", f.clock.Now)
	refused := errors.New("not on the list any more")
	cur.Accept = func(c *Claims) error {
		if c.ID == mustParse(t, old, toks[1]).ID {
			return refused
		}
		return nil
	}
	gets := st.gets.Load()
	for range 5 {
		if _, err := cur.Check(ctx, toks[0]); err != nil {
			t.Fatalf("a session verified before the reload: %v", err)
		}
	}
	if _, err := cur.Check(ctx, toks[1]); !errors.Is(err, refused) {
		t.Fatalf("a session the new rules refuse: err = %v, want the rule's", err)
	}
	if n := st.gets.Load() - gets; n != 0 {
		t.Fatalf("after the reload the cached sessions made %d store reads, want 0", n)
	}

	// A revocation made on the old config reaches the new one at once.
	c2 := mustParse(t, old, toks[2])
	if err := old.Revoke(ctx, toks[2], c2); err != nil {
		t.Fatal(err)
	}
	if _, err := cur.Check(ctx, toks[2]); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked on the old config: err = %v, want ErrRevoked", err)
	}

	// A shorter idle_timeout under the new config ends an idle session.
	idle := sh.Sessions(f.keys.Session, "phone_otp", testSessionTTL, st, "otp:test", f.clock.Now)
	idle.Idle = MinIdleTimeout
	f.clock.Step(MinIdleTimeout + time.Second)
	if _, err := idle.Check(ctx, toks[0]); err == nil {
		t.Fatal("a session idle longer than the new idle_timeout passed")
	}
	if _, err := old.Check(ctx, toks[0]); err != nil {
		t.Fatalf("the old config, without idle_timeout, refused a session it admits: %v", err)
	}
}

// TestColdFillOneCheck: many requests with one token at once, before
// any of them is cached, make one store check between them.
func TestColdFillOneCheck(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	slow := &slowStore{countingStore: &countingStore{Memory: memory.New(f.clock.Now)}, delay: 20 * time.Millisecond}
	t.Cleanup(func() { slow.Cleanup() })
	s := New(f.keys.Session, "phone_otp", testSessionTTL, slow, "otp:test", f.clock.Now)
	t.Cleanup(s.Close)
	tok, _, err := s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			if _, err := s.Check(ctx, tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// One check is two reads: the session's record and its phone's.
	if n := slow.gets.Load(); n != 2 {
		t.Fatalf("32 concurrent first requests made %d store reads, want 2 (one check)", n)
	}
}

// slowStore answers each read after delay, so that concurrent first
// requests overlap.
type slowStore struct {
	*countingStore
	delay time.Duration
}

func (s *slowStore) Get(ctx context.Context, key string) ([]byte, time.Duration, error) {
	time.Sleep(s.delay)
	return s.countingStore.Get(ctx, key)
}

func mustParse(t *testing.T, s *Sessions, tok string) *Claims {
	t.Helper()
	c, err := s.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
