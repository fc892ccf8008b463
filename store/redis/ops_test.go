package redis

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/store"
)

func TestMillis(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want int64
	}{
		{time.Nanosecond, 1}, {time.Millisecond, 1}, {time.Millisecond + 1, 2}, {time.Minute, 60000},
	} {
		if got := millis(tc.in); got != tc.want {
			t.Errorf("millis(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
	for ms, want := range map[int64]time.Duration{-2: 0, -1: 0, 0: 0, 1500: 1500 * time.Millisecond} {
		if got := fromMillis(ms); got != want {
			t.Errorf("fromMillis(%d) = %v, want %v", ms, got, want)
		}
	}
}

func TestGlobEscape(t *testing.T) {
	if got := globEscape(`a*b?c[d]e\f`); got != `a\*b\?c\[d\]e\\f` {
		t.Errorf("globEscape = %q", got)
	}
}

// TestRedisKeysLiteralPrefix: Keys matches its prefix (and the store's
// key_prefix) literally, and leaves out the store's own loss marker.
func TestRedisKeysLiteralPrefix(t *testing.T) {
	srv := redistest.Start(t)
	r := &Redis{Address: []string{srv.Addr}, KeyPrefix: "t[1]:"} // glob characters in key_prefix too
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, k := range []string{"block:*", "block:+1", "blockX:+2", "other"} {
		if err := r.Set(ctx, k, []byte("1"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer admin.Close()
	admin.Set(ctx, "t1:block:+3", "1", time.Minute) // what t[1]: would match as a glob

	got, err := r.Keys(ctx, "block:")
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []string{"block:*", "block:+1"}) {
		t.Errorf("Keys(block:) = %q, %v", got, err)
	}
	if got, _ := r.Keys(ctx, "block:*"); !slices.Equal(got, []string{"block:*"}) {
		t.Errorf("Keys(block:*) = %q, want the literal key only", got)
	}
	if n, _ := admin.Exists(ctx, "t[1]:"+markerKey).Result(); n != 1 {
		t.Fatal("no loss marker under the prefix: the check below would say nothing")
	}
	all, _ := r.Keys(ctx, "")
	if len(all) != 4 || slices.Contains(all, markerKey) {
		t.Errorf("Keys() = %q, want the 4 keys and not the marker", all)
	}
}

func TestRedisOps(t *testing.T) {
	srv := redistest.Start(t)
	r, _ := observed(t, srv.Addr, time.Second)
	ctx := context.Background()

	for _, err := range []error{
		r.Set(ctx, "k", []byte("v"), 0),
		func() error { _, _, err := r.SetNX(ctx, "k", nil, -time.Second); return err }(),
		func() error { _, _, err := r.Incr(ctx, "k", 1, 0); return err }(),
	} {
		if !errors.Is(err, errRedisTTL) {
			t.Errorf("no TTL: err %v, want errRedisTTL", err)
		}
	}
	if _, _, err := r.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of nothing: %v", err)
	}
	r.Set(ctx, "k", []byte("v"), time.Minute)
	if v, left, err := r.Get(ctx, "k"); string(v) != "v" || left <= 59*time.Second || left > time.Minute || err != nil {
		t.Errorf("Get = %q, %v, %v", v, left, err)
	}
	if ok, left, err := r.SetNX(ctx, "k", []byte("w"), time.Hour); ok || left > time.Minute || err != nil {
		t.Errorf("SetNX on a key: %v, %v, %v; want false and its TTL", ok, left, err)
	}
	if ok, err := r.CompareAndDelete(ctx, "k", []byte("w")); ok || err != nil {
		t.Errorf("CompareAndDelete of another value: %v %v", ok, err)
	}
	if ok, err := r.CompareAndDelete(ctx, "k", []byte("v")); !ok || err != nil {
		t.Errorf("CompareAndDelete: %v %v", ok, err)
	}

	// A counter keeps its deadline (a fixed window); a non-number is an
	// error and changes nothing.
	r.Incr(ctx, "n", 2, time.Minute)
	if n, left, err := r.Incr(ctx, "n", 3, time.Hour); n != 5 || left > time.Minute || err != nil {
		t.Errorf("Incr = %d, %v, %v", n, left, err)
	}
	r.Set(ctx, "s", []byte("x"), time.Minute)
	if _, _, err := r.Incr(ctx, "s", 1, time.Minute); err == nil {
		t.Error("Incr of a string: no error")
	}
	if v, _, _ := r.Get(ctx, "s"); string(v) != "x" {
		t.Errorf("failed Incr changed the value to %q", v)
	}

	if err := r.Delete(ctx, "n", "s", "absent"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"n", "s"} {
		if _, _, err := r.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after Delete: %v", k, err)
		}
	}
	if err := r.Delete(ctx); err != nil {
		t.Errorf("Delete of no keys: %v", err)
	}
}
