package bench

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/memory"
	"github.com/caddyotp/caddyotp/store/redis"
)

// BenchmarkRevocationPropagation: two instances (two Sessions, each with
// a store of its own on one Redis, as two Caddy processes have; or one
// memory store shared by two sites of one process) and b.N revocations.
// Each: a session that B has verified (and cached), revoked on A; the
// time from the start of A's revoke to the first request B refuses. B's
// requests in between are cache hits; what ends them is the push. It
// reports the median, p99 and worst of those times.
//
//	go test -run x -bench RevocationPropagation -benchtime 2000x ./bench/
func BenchmarkRevocationPropagation(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		st := memory.New(nil)
		b.Cleanup(func() { st.Cleanup() })
		propagation(b, st, st)
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Start(b)
		propagation(b, redisStore(b, srv.Addr), redisStore(b, srv.Addr))
	})
}

func redisStore(b *testing.B, addr string) *redis.Redis {
	r := &redis.Redis{Address: []string{addr}, KeyPrefix: "bench:"}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(cancel)
	if err := r.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Cleanup() })
	return r
}

func propagation(b *testing.B, sa, sb store.Store) {
	ctx := context.Background()
	const ns = "realm:bench"
	a := session.New([]byte(secret), "phone_otp", time.Hour, sa, ns, time.Now)
	bb := session.New([]byte(secret), "phone_otp", time.Hour, sb, ns, time.Now)
	b.Cleanup(a.Close)
	b.Cleanup(bb.Close)
	// once revokes one session on A and returns how long B took to
	// refuse it; the first, untimed, also waits for B's subscription.
	once := func(patience time.Duration) time.Duration {
		tok, c, err := a.Issue("+12015550123", "", "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bb.Check(ctx, tok); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := a.Revoke(ctx, tok, c); err != nil {
			b.Fatal(err)
		}
		for {
			_, err := bb.Check(ctx, tok)
			if errors.Is(err, session.ErrRevoked) {
				return time.Since(start)
			}
			if err != nil {
				b.Fatal(err)
			}
			if time.Since(start) > patience {
				return -1
			}
			runtime.Gosched()
		}
	}
	for deadline := time.Now().Add(10 * time.Second); once(time.Second) < 0; {
		if time.Now().After(deadline) {
			b.Fatal("B never saw a revocation made on A")
		}
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		d := once(5 * time.Second)
		if d < 0 {
			b.Fatal("a revocation on A was not seen on B within 5s")
		}
		took = append(took, d)
	}
	b.StopTimer()
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
	b.ReportMetric(ms(took[len(took)-1]), "max-ms")
}
