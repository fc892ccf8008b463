package redis

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/store"
)

// The conformance suite tests Hit and Attach through the Store interface;
// these test the hash beneath them in Redis (fields n, last, v, until; the
// key's TTL is the window), which every instance of a deployment shares.

// redisAndAdmin is a store on a fresh redis-server, and a plain client of
// that server to look beneath it.
func redisAndAdmin(t *testing.T) (*Redis, *goredis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	r, _ := observed(t, srv.Addr, time.Second)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { admin.Close() })
	return r, admin
}

func TestRedisHitWindowLayout(t *testing.T) {
	r, admin := redisAndAdmin(t)
	ctx := context.Background()
	full := r.KeyPrefix + "win"

	if ok, _, err := r.Hit(ctx, "win", 2, time.Hour, 30*time.Second); !ok || err != nil {
		t.Fatalf("first Hit: %v %v", ok, err)
	}
	h := admin.HGetAll(ctx, full).Val()
	last, err := strconv.ParseInt(h["last"], 10, 64)
	if h["n"] != "1" || err != nil || time.Since(time.UnixMicro(last)).Abs() > time.Minute {
		t.Errorf("window hash %v, want n=1 and last on Redis's clock in microseconds", h)
	}
	if ttl := admin.PTTL(ctx, full).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("window TTL %v, want the hour", ttl)
	}
	// Within the gap: refused with what is left of it, nothing counted.
	if ok, wait, err := r.Hit(ctx, "win", 2, time.Hour, 30*time.Second); ok || err != nil || wait <= 25*time.Second || wait > 30*time.Second {
		t.Errorf("Hit in the gap: %v, wait %v, %v", ok, wait, err)
	}
	// Unhit takes the event back and lifts the gap, keeping the window.
	if err := r.Unhit(ctx, "win"); err != nil {
		t.Fatal(err)
	}
	if h := admin.HGetAll(ctx, full).Val(); h["n"] != "0" || h["last"] != "" || admin.PTTL(ctx, full).Val() <= 59*time.Minute {
		t.Errorf("after Unhit: %v, TTL %v", h, admin.PTTL(ctx, full).Val())
	}
	for range 2 {
		admin.HDel(ctx, full, "last") // no gap: test the limit
		if ok, _, err := r.Hit(ctx, "win", 2, time.Hour, 30*time.Second); !ok || err != nil {
			t.Fatalf("Hit under the limit: %v %v", ok, err)
		}
	}
	admin.HDel(ctx, full, "last")
	if ok, wait, _ := r.Hit(ctx, "win", 2, time.Hour, 30*time.Second); ok || wait <= 59*time.Minute {
		t.Errorf("Hit past the limit: %v, wait %v, want the window's rest", ok, wait)
	}
	if n, left, err := r.Window(ctx, "win"); n != 2 || left <= 59*time.Minute || err != nil {
		t.Errorf("Window = %d, %v, %v", n, left, err)
	}
	if _, _, err := r.Window(ctx, "none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Window of no key: %v, want ErrNotFound", err)
	}

	// A window hash left without a TTL (by hand, by an old version) gets
	// the window rather than living for ever.
	admin.HSet(ctx, r.KeyPrefix+"stray", "n", 1)
	if ok, _, err := r.Hit(ctx, "stray", 5, time.Minute, 0); !ok || err != nil {
		t.Fatalf("Hit on a stray window: %v %v", ok, err)
	}
	if ttl := admin.PTTL(ctx, r.KeyPrefix+"stray").Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("stray window TTL %v", ttl)
	}
	if n := admin.HGet(ctx, r.KeyPrefix+"stray", "n").Val(); n != "2" {
		t.Errorf("stray window n = %s, want 2", n)
	}
}

func TestRedisAttachLayout(t *testing.T) {
	r, admin := redisAndAdmin(t)
	ctx := context.Background()
	full := r.KeyPrefix + "win"

	if err := r.Attach(ctx, "win", []byte("code"), time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Attach without a window: %v, want ErrNotFound", err)
	}
	if err := r.Attach(ctx, "win", []byte("code"), 0); !errors.Is(err, errRedisTTL) {
		t.Errorf("Attach with no TTL: %v", err)
	}
	r.Hit(ctx, "win", 5, time.Minute, 0)
	// A value that outlives the window stretches the window's TTL.
	if err := r.Attach(ctx, "win", []byte("code"), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	h := admin.HGetAll(ctx, full).Val()
	if h["v"] != "code" || h["until"] == "" || h["n"] != "1" {
		t.Errorf("hash after Attach: %v", h)
	}
	if ttl := admin.PTTL(ctx, full).Val(); ttl <= 9*time.Minute {
		t.Errorf("window TTL %v after a 10m attach", ttl)
	}
	if v, left, err := r.Attached(ctx, "win"); string(v) != "code" || left <= 9*time.Minute || left > 10*time.Minute || err != nil {
		t.Errorf("Attached = %q, %v, %v", v, left, err)
	}
	if ok, err := r.Detach(ctx, "win", []byte("other")); ok || err != nil {
		t.Errorf("Detach of another value: %v %v", ok, err)
	}
	if ok, err := r.Detach(ctx, "win", []byte("code")); !ok || err != nil {
		t.Errorf("Detach: %v %v", ok, err)
	}
	if h := admin.HGetAll(ctx, full).Val(); h["v"] != "" || h["until"] != "" || h["n"] != "1" {
		t.Errorf("hash after Detach: %v, want the window alone", h)
	}

	// until is the value's end, not the key's: past it the value is gone.
	r.Attach(ctx, "win", []byte("late"), time.Minute)
	admin.HSet(ctx, full, "until", time.Now().Add(-time.Second).UnixMicro())
	if _, _, err := r.Attached(ctx, "win"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Attached past until: %v, want ErrNotFound", err)
	}
	if ok, _ := r.Detach(ctx, "win", nil); ok {
		t.Error("Detach(any) of an ended value reported one")
	}
	r.Attach(ctx, "win", []byte("again"), time.Minute)
	if ok, _ := r.Detach(ctx, "win", nil); !ok {
		t.Error("Detach(any) of a live value did not remove it")
	}
}
