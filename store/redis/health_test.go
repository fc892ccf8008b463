package redis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap/zapcore"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/store"
)

// TestRedisOutage stops Redis, then freezes it, and checks that calls
// fail fast and closed, that each outage is logged once at ERROR with its
// cause and once at INFO when it ends, and that the store recovers with no
// restart.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	const timeout = 200 * time.Millisecond
	r, logs := observed(t, srv.Addr, timeout)
	ctx := context.Background()
	if err := r.Set(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}

	// hammer makes every kind of call rounds times; each must fail (not
	// ErrNotFound, which would read as "no block, not revoked") within a
	// bound of the timeout.
	hammer := func(phase string, rounds int) {
		t.Helper()
		for range rounds {
			calls := map[string]func() error{
				"get":    func() error { _, _, err := r.Get(ctx, "k"); return err },
				"set":    func() error { return r.Set(ctx, "k", []byte("v"), time.Hour) },
				"setnx":  func() error { _, _, err := r.SetNX(ctx, "n", []byte("v"), time.Hour); return err },
				"incr":   func() error { _, _, err := r.Incr(ctx, "c", 1, time.Hour); return err },
				"cad":    func() error { _, err := r.CompareAndDelete(ctx, "k", []byte("x")); return err },
				"delete": func() error { return r.Delete(ctx, "a", "b") },
				"hit":    func() error { _, _, err := r.Hit(ctx, "w", 5, time.Hour, 0); return err },
				"unhit":  func() error { return r.Unhit(ctx, "w") },
				"window": func() error { _, _, err := r.Window(ctx, "w"); return err },
				"keys":   func() error { _, err := r.Keys(ctx, ""); return err },
			}
			for name, call := range calls {
				start := time.Now()
				err := call()
				if err == nil || errors.Is(err, store.ErrNotFound) {
					t.Fatalf("%s: %s with Redis unavailable: err = %v, want a failure", phase, name, err)
				}
				if d := time.Since(start); d > 4*timeout {
					t.Errorf("%s: %s took %v with a timeout of %v", phase, name, d, timeout)
				}
			}
		}
	}
	// recovered polls every 50ms, for up to 5s, until the store answers.
	recovered := func(phase string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, _, err := r.Get(ctx, "k")
			if err == nil || errors.Is(err, store.ErrNotFound) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: store did not recover: %v", phase, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wantLog := func(phase string, downs, ups int) {
		t.Helper()
		var gotDown, gotUp, other int
		for _, e := range logs.All() {
			switch {
			case e.Level == zapcore.ErrorLevel && strings.HasPrefix(e.Message, "redis store unavailable"):
				gotDown++
				if e.ContextMap()["error"] == nil {
					t.Errorf("%s: outage line without its cause: %v", phase, e.ContextMap())
				}
			case e.Level == zapcore.InfoLevel && e.Message == "redis store is back":
				gotUp++
			default:
				other++
			}
		}
		if gotDown != downs || gotUp != ups || other != 0 {
			t.Fatalf("%s: log has %d outage lines, %d recovery lines and %d others, want %d, %d and 0:\n%v",
				phase, gotDown, gotUp, other, downs, ups, logs.All())
		}
	}

	srv.Stop()
	hammer("stopped", 5)
	wantLog("stopped", 1, 0)
	srv.Restart()
	recovered("restarted")
	wantLog("restarted", 1, 1)
	if err := r.Set(ctx, "k", []byte("v2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, _, err := r.Get(ctx, "k"); err != nil || string(v) != "v2" {
		t.Fatalf("after the restart: %q %v", v, err)
	}

	srv.Freeze()
	hammer("frozen", 2)
	wantLog("frozen", 2, 1)
	srv.Thaw()
	recovered("thawed")
	wantLog("thawed", 2, 2)

	// A caller that gives up says nothing about Redis.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := r.Get(cctx, "k"); err == nil {
		t.Error("Get with a cancelled context: no error")
	}
	wantLog("cancelled", 2, 2)
}

// After Cleanup (an old config, after `caddy reload`), calls fail closed,
// and a late request is not taken for a Redis outage.
func TestRedisAfterCleanup(t *testing.T) {
	srv := redistest.Start(t)
	r, logs := observed(t, srv.Addr, time.Second)
	if err := r.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Get(context.Background(), "k"); !errors.Is(err, goredis.ErrClosed) {
		t.Fatalf("Get after Cleanup: %v, want redis.ErrClosed", err)
	}
	if err := r.Cleanup(); err != nil {
		t.Fatalf("second Cleanup: %v", err)
	}
	if logs.Len() != 0 || r.health.down.Load() {
		t.Fatalf("a closed client was taken for an outage: %v", logs.All())
	}
}

// A Redis that was never provisioned fails closed, with no panic.
func TestRedisUnprovisioned(t *testing.T) {
	ctx := context.Background()
	var zero Redis
	if _, _, err := zero.Get(ctx, "k"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get: %v", err)
	}
	if _, _, err := zero.Hit(ctx, "k", 1, time.Minute, 0); err == nil {
		t.Error("Hit: no error")
	}
	if _, err := zero.Keys(ctx, ""); err == nil {
		t.Error("Keys: no error")
	}
	if err := zero.Cleanup(); err != nil {
		t.Errorf("Cleanup: %v", err)
	}
}
