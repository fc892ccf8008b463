package session

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestSessionCacheRevalidates: with a store that does not push
// revocations, a cached session is re-checked against the store at most
// once per revalidateEvery, and a revocation written by another instance
// (straight into the shared store) takes effect within it.
func TestSessionCacheRevalidates(t *testing.T) {
	f := newPlainFixture(t)
	ctx := context.Background()
	tok, c, err := f.s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Check(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if f.s.cache.get(tok) == nil {
		t.Fatal("a verified session was not cached")
	}
	// Another instance revokes it through the shared store.
	if err := f.store.Set(ctx, f.s.revokedKey(c.ID), []byte{1}, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(revalidateEvery / 2)
	if _, err := f.s.Check(ctx, tok); err != nil {
		t.Fatalf("within revalidateEvery the cached answer stands: %v", err)
	}
	f.clock.Step(revalidateEvery / 2)
	if _, err := f.s.Check(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after revalidateEvery: err = %v, want ErrRevoked", err)
	}
	if f.s.cache.get(tok) != nil {
		t.Error("a revoked session stayed in the cache")
	}
}

// TestSessionCacheFailsClosed: a cached session due for revalidation with
// the store down is refused as a store error, not passed (a store that does
// not push; push_test.go has the one that does).
func TestSessionCacheFailsClosed(t *testing.T) {
	f := newPlainFixture(t)
	ctx := context.Background()
	tok, _, _ := f.s.Issue(testPhone, "", "")
	if _, err := f.s.Check(ctx, tok); err != nil {
		t.Fatal(err)
	}
	f.s.store = brokenStore{}
	f.clock.Step(revalidateEvery)
	if _, err := f.s.Check(ctx, tok); !IsStoreError(err) {
		t.Fatalf("err = %v, want a store error", err)
	}
}

// TestSessionCacheExpiry: a cached session expires on time.
func TestSessionCacheExpiry(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	tok, _, _ := f.s.Issue(testPhone, "", "")
	if _, err := f.s.Check(ctx, tok); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(testSessionTTL)
	if _, err := f.s.Check(ctx, tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("err = %v, want expired", err)
	}
}

// TestSessionCacheBounded: past maxCached entries the cache starts afresh
// (its sessions then cost one full verification each), and a session
// removed or never put is not found.
func TestSessionCacheBounded(t *testing.T) {
	c := &cache{max: 4}
	for i := range 4 {
		c.put(fmt.Sprint("tok", i), &Verified{})
	}
	c.put("tok1", &Verified{}) // replacing one does not count twice
	if n := c.n.Load(); n != 4 {
		t.Fatalf("count = %d after 4 distinct tokens, want 4", n)
	}
	c.remove("tok3")
	c.remove("tok3")
	if c.get("tok3") != nil || c.n.Load() != 3 {
		t.Fatalf("after remove: found=%v count=%d, want absent and 3", c.get("tok3") != nil, c.n.Load())
	}
	c.put("tok4", &Verified{})
	c.put("tok5", &Verified{}) // the fifth distinct entry: start afresh
	if c.get("tok0") != nil || c.get("tok4") != nil {
		t.Error("the cache kept entries past its bound")
	}
	if c.get("tok5") == nil || c.n.Load() != 1 {
		t.Errorf("after starting afresh: tok5 found=%v count=%d, want found and 1", c.get("tok5") != nil, c.n.Load())
	}
	if c.get("never") != nil {
		t.Error("an unknown token was found")
	}
}

// BenchmarkLookupSessions: a cache hit with 1, 10,000 and 100,000
// distinct sessions in rotation (the cost of a big cache is memory
// latency: the key and the entry are seldom in the CPU's cache).
func BenchmarkLookupSessions(b *testing.B) {
	for _, n := range []int{1, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := newSessionFixture(b)
			ctx := context.Background()
			toks := make([]string, n)
			for i := range toks {
				toks[i], _, _ = f.s.Issue(testPhone, "", "")
				// A copy, as a request's header is: the cache's key is
				// not the very string looked up later.
				if _, err := f.s.Lookup(ctx, string([]byte(toks[i]))); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if _, err := f.s.Lookup(ctx, toks[(i*7919)%n]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSessionMemory reports the heap a cached session holds (bytes
// and objects, after a GC) with 100,000 distinct sessions cached, each
// looked up from a copy of its token as a request's header would carry.
func BenchmarkSessionMemory(b *testing.B) {
	const n = 100000
	for range b.N {
		f := newSessionFixture(b)
		ctx := context.Background()
		toks := make([]string, n)
		for i := range toks {
			toks[i], _, _ = f.s.Issue(fmt.Sprintf("+1201555%04d", i%10000), "", "")
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, t := range toks {
			if _, err := f.s.Lookup(ctx, string([]byte(t))); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/session")
		b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/n, "objects/session")
		runtime.KeepAlive(toks)
		runtime.KeepAlive(f.s) // else the cache is garbage before the second GC
	}
}
