package redis

import (
	"context"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/goleak"

	"github.com/caddyotp/caddyotp/internal/faultproxy"
	"github.com/caddyotp/caddyotp/internal/redistest"
)

// TestMain fails the package if a goroutine outlives its tests: a store
// whose Cleanup leaves its subscription, its pool or a call behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRedisFaultsNoLeak drives a store through a fault proxy: for each
// fault (1s latency, a silent partition, resets of every connection,
// a 20 B/s trickle) a write fails within timeout plus the margin, the
// revocation subscription is seen lost; once the fault ends the
// subscription comes back, a revocation is written and pushed, and
// after Cleanup and the proxy's Close no goroutine is left (TestMain).
func TestRedisFaultsNoLeak(t *testing.T) {
	const timeout, margin = 200 * time.Millisecond, time.Second
	faults := []struct {
		name string
		on   func(p *faultproxy.Proxy)
	}{
		{"latency", func(p *faultproxy.Proxy) {
			p.SetLatency(faultproxy.Up, time.Second)
			p.SetLatency(faultproxy.Down, time.Second)
		}},
		{"partition", func(p *faultproxy.Proxy) { p.Partition(true) }},
		{"reset", func(p *faultproxy.Proxy) { p.Refuse(true); p.ResetAll() }},
		{"trickle", func(p *faultproxy.Proxy) {
			p.SetBandwidth(faultproxy.Up, 20)
			p.SetBandwidth(faultproxy.Down, 20)
		}},
	}
	srv := redistest.Start(t)
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			p, err := faultproxy.New(srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			r := &Redis{Address: []string{p.Addr()}, KeyPrefix: "t:fault:" + f.name + ":", Timeout: caddy.Duration(timeout)}
			if err := provision(t, r); err != nil {
				t.Fatal(err)
			}
			rec := subscribed(t, r)
			ctx := context.Background()
			f.on(p)
			eventually(t, "the subscription lost", func() bool { live, _, _, _ := rec.State(); return !live })
			t0 := time.Now()
			err = r.Revoke(ctx, "ns:rev:during", []byte{1}, time.Minute)
			if d := time.Since(t0); err == nil || d > timeout+margin {
				t.Errorf("a revoke during the fault: %v after %v, want an error within %v", err, d, timeout+margin)
			}
			p.Heal()
			eventually(t, "the subscription back", func() bool { live, _, _, _ := rec.State(); return live })
			if err := r.Revoke(ctx, "ns:rev:after", []byte{1}, time.Minute); err != nil {
				t.Fatalf("a revoke after the fault: %v", err)
			}
			eventually(t, "the revocation pushed", func() bool {
				_, _, _, got := rec.State()
				for _, g := range got {
					if g == "ns:rev:after=\x01" {
						return true
					}
				}
				return false
			})
			if err := r.Cleanup(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
