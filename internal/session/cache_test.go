package session

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
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

// TestSessionCacheBounded: the cache holds at most its buckets' ways (a
// session put into a full bucket takes the place of one there), replacing
// a token's entry does not count twice, and a session removed or never put
// is not found.
func TestSessionCacheBounded(t *testing.T) {
	c := newCache(1) // one bucket: ways sessions at most
	for i := range ways {
		c.put(&Verified{token: fmt.Sprint("tok", i)})
	}
	c.put(&Verified{token: "tok1"}) // replacing one does not count twice
	if n := c.size(); n != ways {
		t.Fatalf("size = %d after %d distinct tokens, want %d", n, ways, ways)
	}
	for i := range ways {
		if c.get(fmt.Sprint("tok", i)) == nil {
			t.Fatalf("tok%d not found", i)
		}
	}
	c.remove("tok3")
	c.remove("tok3")
	if c.get("tok3") != nil || c.size() != ways-1 {
		t.Fatalf("after remove: found=%v size=%d, want absent and %d", c.get("tok3") != nil, c.size(), ways-1)
	}
	for i := range 100 {
		tok := fmt.Sprint("more", i)
		c.put(&Verified{token: tok})
		if c.get(tok) == nil {
			t.Fatalf("%s not found right after its put", tok)
		}
	}
	found := 0
	for i := range 100 {
		if c.get(fmt.Sprint("more", i)) != nil {
			found++
		}
	}
	if n := c.size(); n != ways || found > ways {
		t.Errorf("after 100 more puts: size %d, %d of them found, want %d at most", n, found, ways)
	}
	if c.get("never") != nil {
		t.Error("an unknown token was found")
	}
}

// TestSessionCacheGrows: the table grows, up to its bound, keeping what
// it holds: sessions put while it is an eighth full are all found
// afterwards, and the bound holds past it. (At the bound, a bucket that
// is full by chance makes way: at a quarter full, about one run in
// twenty loses one session to that, so the test stays below.)
func TestSessionCacheGrows(t *testing.T) {
	c := newCache(4 * minBuckets)
	n := minBuckets * ways / 2 // an eighth of the largest table, past the first growth
	for i := range n {
		c.put(&Verified{token: fmt.Sprint("tok", i)})
	}
	if got := len(c.table.Load().buckets); got != 4*minBuckets {
		t.Fatalf("%d buckets after %d puts, want %d", got, n, 4*minBuckets)
	}
	for i := range n {
		if c.get(fmt.Sprint("tok", i)) == nil {
			t.Fatalf("tok%d lost when the table grew", i)
		}
	}
	for i := range 10 * n {
		c.put(&Verified{token: fmt.Sprint("more", i)})
	}
	if got, most := c.size(), 4*minBuckets*ways; got > most || len(c.table.Load().buckets) != 4*minBuckets {
		t.Errorf("size %d in %d buckets, want at most %d in %d", got, len(c.table.Load().buckets), most, 4*minBuckets)
	}
}

// TestSessionCacheComparesWholeToken: an entry whose tag matches is not a
// hit unless its whole token is the one asked for (here another token's
// entry planted in the very slot and tag the asked one hashes to).
func TestSessionCacheComparesWholeToken(t *testing.T) {
	c := newCache(minBuckets)
	c.put(&Verified{token: "good"})
	h, tag := c.hash("forged")
	tb := c.table.Load()
	b := &tb.buckets[h&tb.mask]
	b.v[0].Store(&Verified{token: "good"})
	b.tag[0].Store(tag)
	if c.get("forged") != nil {
		t.Fatal("a token was found by its hash alone")
	}
	if c.get("good") == nil {
		t.Fatal("the good token was lost")
	}
}

// TestSessionCacheConcurrent: reads, puts (growing the table), replacements
// and removes at once, for the race detector; a token removed and not put
// again is not found afterwards.
func TestSessionCacheConcurrent(t *testing.T) {
	c := newCache(maxBuckets)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				tok := fmt.Sprint("tok", w, ":", i%700)
				switch i % 3 {
				case 0:
					c.put(&Verified{token: tok})
				case 1:
					if v := c.get(tok); v != nil && v.token != tok {
						t.Errorf("get(%s) found %s", tok, v.token)
					}
				case 2:
					c.remove(fmt.Sprint("gone", w, ":", i))
				}
			}
		}()
	}
	wg.Wait()
	c.put(&Verified{token: "x"})
	c.remove("x")
	if c.get("x") != nil {
		t.Error("a removed token was found")
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
