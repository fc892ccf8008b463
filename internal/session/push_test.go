package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/memory"
)

// countingStore is the memory store (which pushes revocations) counting
// the reads that a session check makes, and failing them when down.
type countingStore struct {
	*memory.Memory
	gets atomic.Int64
	down atomic.Bool
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, time.Duration, error) {
	c.gets.Add(1)
	if c.down.Load() {
		return nil, 0, errDown
	}
	return c.Memory.Get(ctx, key)
}

// gappyStore is a countingStore whose subscription the test loses and
// regains: Live is called on its watchers by hand, and Revoke pushes only
// while it is live (a revocation made during a gap is only in the store).
type gappyStore struct {
	*countingStore
	mu   sync.Mutex
	ws   []store.RevocationWatcher
	live bool
}

func (g *gappyStore) Subscribe(w store.RevocationWatcher) func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ws = append(g.ws, w)
	w.Live(g.live)
	return func() {}
}

func (g *gappyStore) Revoke(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := g.Durable().Set(ctx, key, val, ttl); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.live {
		for _, w := range g.ws {
			w.Revoked(key, val, ttl)
		}
	}
	return nil
}

func (g *gappyStore) setLive(up bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.live = up
	for _, w := range g.ws {
		w.Live(up)
	}
}

// instances returns two Sessions of one protection domain on st, as two
// Caddy instances sharing a store, and a way to issue on the first.
func instances(t *testing.T, f *sessionFixture, st store.Store) (a, b *Sessions) {
	t.Helper()
	a = New(f.keys.Session, "phone_otp", testSessionTTL, st, "otp:test", f.clock.Now)
	b = New(f.keys.Session, "phone_otp", testSessionTTL, st, "otp:test", f.clock.Now)
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	return a, b
}

// TestPushedRevocationNoStoreCall: with the memory store, a cached
// session costs no store call however long it is used, and a logout or an
// admin revoke on one instance is refused on the other at once, still
// without a store call: it was pushed.
func TestPushedRevocationNoStoreCall(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	st := &countingStore{Memory: memory.New(f.clock.Now)}
	t.Cleanup(func() { st.Cleanup() })
	a, b := instances(t, f, st)
	if b.push == nil {
		t.Fatal("sessions on the memory store did not subscribe to its revocations")
	}
	tok, c, _ := a.Issue(testPhone, "", "")
	tok2, _, _ := a.Issue(testPhone, "", "")
	for _, tk := range []string{tok, tok2} {
		if _, err := b.Check(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	before := st.gets.Load()
	for range 100 {
		f.clock.Step(revalidateEvery) // polling would have checked each time
		if _, err := b.Check(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.gets.Load() - before; n != 0 {
		t.Fatalf("100 checks of a cached session made %d store reads, want 0", n)
	}
	if err := a.Revoke(ctx, tok, c); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Check(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after a logout on the other instance: err = %v, want ErrRevoked", err)
	}
	if _, err := b.Check(ctx, tok2); err != nil {
		t.Fatalf("the phone's other session: %v", err)
	}
	f.clock.Step(time.Second)
	if err := a.RevokePhone(ctx, testPhone, testSessionTTL); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Check(ctx, tok2); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after an admin revoke on the other instance: err = %v, want ErrRevoked", err)
	}
	if n := st.gets.Load() - before; n != 0 {
		t.Errorf("the pushed revocations cost %d store reads on the other instance, want 0", n)
	}
	// A session issued after the phone's revocation passes.
	f.clock.Step(time.Second)
	tok3, _, _ := a.Issue(testPhone, "", "")
	if _, err := b.Check(ctx, tok3); err != nil {
		t.Errorf("a session issued after the revoke: %v", err)
	}
}

// TestPushedGap: while the subscription is lost, every request checks the
// store (and a revocation made meanwhile, which nobody pushed, is honoured;
// a store that is down fails closed); once it is back, each cached session
// is checked in the store once more (a revocation from the gap is only
// there), and then no more.
func TestPushedGap(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	cs := &countingStore{Memory: memory.New(f.clock.Now)}
	t.Cleanup(func() { cs.Cleanup() })
	st := &gappyStore{countingStore: cs, live: true}
	a, b := instances(t, f, st)
	tok1, c1, _ := a.Issue(testPhone, "", "")
	tok2, c2, _ := a.Issue(testPhone, "", "")
	tok3, _, _ := a.Issue(testPhone, "", "")
	for _, tk := range []string{tok1, tok2, tok3} {
		if _, err := b.Check(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}

	st.setLive(false)
	reads := func(tok string, n int) int64 {
		t.Helper()
		before := cs.gets.Load()
		for range n {
			if _, err := b.Check(ctx, tok); err != nil {
				t.Fatalf("check during the gap: %v", err)
			}
		}
		return cs.gets.Load() - before
	}
	if n := reads(tok3, 5); n < 5 {
		t.Fatalf("5 checks while not subscribed made %d store reads, want one or more each", n)
	}
	if err := a.Revoke(ctx, tok1, c1); err != nil { // not pushed: the gap
		t.Fatal(err)
	}
	if _, err := b.Check(ctx, tok1); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked during the gap: err = %v, want ErrRevoked", err)
	}
	cs.down.Store(true)
	if _, err := b.Check(ctx, tok3); !IsStoreError(err) {
		t.Fatalf("store down during the gap: err = %v, want a store error (503)", err)
	}
	cs.down.Store(false)
	if err := a.Revoke(ctx, tok2, c2); err != nil { // not pushed either
		t.Fatal(err)
	}

	st.setLive(true)
	if _, err := b.Check(ctx, tok2); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked during the gap, checked after it: err = %v, want ErrRevoked", err)
	}
	if n := reads(tok3, 1); n == 0 {
		t.Fatal("the first check after the subscription came back made no store read")
	}
	if n := reads(tok3, 20); n != 0 {
		t.Fatalf("20 more checks made %d store reads, want 0", n)
	}
}

// TestPushedNewSessionRace: a revocation pushed while a session's first
// check is under way (after its store read, before it is cached) is not
// lost: that request sees it in what was pushed, and is refused.
func TestPushedNewSessionRace(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	raced := &racingStore{countingStore: &countingStore{Memory: memory.New(f.clock.Now)}}
	t.Cleanup(func() { raced.Cleanup() })
	a, b := instances(t, f, raced)
	tok, c, _ := a.Issue(testPhone, "", "")
	raced.during = func() {
		raced.during = nil
		if err := a.Revoke(ctx, tok, c); err != nil {
			t.Error(err)
		}
	}
	if _, err := b.Check(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("the first check (store read before the revocation): err = %v, want ErrRevoked", err)
	}
	if _, err := b.Check(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("the next check: err = %v, want ErrRevoked", err)
	}
}

// racingStore runs during once, right after the first read of a
// revocation record.
type racingStore struct {
	*countingStore
	during func()
}

func (r *racingStore) Get(ctx context.Context, key string) ([]byte, time.Duration, error) {
	v, ttl, err := r.countingStore.Get(ctx, key)
	if r.during != nil {
		r.during()
	}
	return v, ttl, err
}

// TestPushedBounded: the revocations kept in memory are dropped when the
// records they mirror expire, so they stay bounded by the revocations of
// one session lifetime.
func TestPushedBounded(t *testing.T) {
	c := newClock()
	p := newPushed("otp:test", c.Now)
	for i := range 10 * minPruneAt {
		p.Revoked(fmt.Sprintf("otp:test:rev:jti%d", i), []byte{1}, time.Minute)
		c.Step(time.Second)
	}
	// Records live a minute, one a second: at most 60 live at a time,
	// and a prune whenever the maps double past minPruneAt.
	if n := p.size(); n > 2*minPruneAt {
		t.Fatalf("%d records kept, want at most %d", n, 2*minPruneAt)
	}
	p.Revoked("otp:other:rev:x", []byte{1}, time.Minute)
	p.Revoked("otp:test:attempts:x", []byte{1}, time.Minute)
	if p.revoked(&Claims{}) {
		t.Error("an empty claim set was revoked")
	}
	g := p.gen.Load()
	p.Revoked("otp:other:rev:y", []byte{1}, time.Minute)
	if p.gen.Load() != g {
		t.Error("another domain's revocation made every cached session look again")
	}
}

// newPlainFixture is newSessionFixture with a store that does not push
// revocations (only the Store interface of the memory store).
func newPlainFixture(t *testing.T) *sessionFixture {
	t.Helper()
	f := newSessionFixture(t)
	f.s = New(f.keys.Session, "phone_otp", testSessionTTL, plainStore{f.store}, "otp:test", f.clock.Now)
	if f.s.push != nil {
		t.Fatal("a store without Revocations was subscribed to")
	}
	return f
}

type plainStore struct{ store.Store }
