package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// runAttach checks Attach, Attached and Detach: a value riding on a Hit
// window, with its own expiry, kept by Hit and Unhit, detached once.
func runAttach(t *testing.T, h Harness) {
	ctx := context.Background()
	const key = "otp:p:+12015550123"
	hit := func(t *testing.T, s store.Store) {
		t.Helper()
		if ok, _, err := s.Hit(ctx, key, 5, time.Hour, 0); err != nil || !ok {
			t.Fatalf("Hit = %v, %v", ok, err)
		}
	}
	wantAttached := func(t *testing.T, s store.Store, want string, ttl time.Duration) {
		t.Helper()
		v, left, err := s.Attached(ctx, key)
		if want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Attached = %q, %v; want ErrNotFound", v, err)
			}
			return
		}
		if err != nil || string(v) != want || !h.ttlOK(left, ttl) {
			t.Fatalf("Attached = %q, %v, %v; want %q, %v", v, left, err, want, ttl)
		}
	}

	t.Run("no window", func(t *testing.T) {
		s, _ := h.New(t)
		if err := s.Attach(ctx, key, []byte("rec"), time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Attach without a window: %v, want ErrNotFound", err)
		}
		wantAttached(t, s, "", 0)
		if ok, err := s.Detach(ctx, key, nil); ok || err != nil {
			t.Fatalf("Detach without a window = %v, %v", ok, err)
		}
	})

	t.Run("expires on its own, the window stays", func(t *testing.T) {
		s, advance := h.New(t)
		hit(t, s)
		if err := s.Attach(ctx, key, []byte("rec-1"), 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		wantAttached(t, s, "rec-1", 5*time.Minute)
		advance(5*time.Minute - 10*time.Second)
		wantAttached(t, s, "rec-1", 10*time.Second)
		advance(20 * time.Second)
		wantAttached(t, s, "", 0)
		if ok, err := s.Detach(ctx, key, []byte("rec-1")); ok || err != nil {
			t.Fatalf("Detach of an expired value = %v, %v", ok, err)
		}
		if n, _, err := readWindow(s, key); err == nil && n != 1 {
			t.Fatalf("window count %d after the value expired, want 1", n)
		}
	})

	t.Run("replaced, kept by Hit and Unhit, detached once", func(t *testing.T) {
		s, _ := h.New(t)
		hit(t, s)
		s.Attach(ctx, key, []byte("old"), 5*time.Minute)
		if err := s.Attach(ctx, key, []byte("new"), 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		wantAttached(t, s, "new", 5*time.Minute)
		hit(t, s)
		if err := s.Unhit(ctx, key); err != nil {
			t.Fatal(err)
		}
		wantAttached(t, s, "new", 5*time.Minute)
		if ok, _ := s.Detach(ctx, key, []byte("old")); ok {
			t.Fatal("Detach of a value no longer attached succeeded")
		}
		if ok, err := s.Detach(ctx, key, []byte("new")); !ok || err != nil {
			t.Fatalf("Detach = %v, %v", ok, err)
		}
		wantAttached(t, s, "", 0)
		if ok, _ := s.Detach(ctx, key, []byte("new")); ok {
			t.Fatal("second Detach succeeded")
		}
		if ok, _, _ := s.Hit(ctx, key, 5, time.Hour, 0); !ok {
			t.Fatal("the window went with the value")
		}
	})

	t.Run("detach any", func(t *testing.T) {
		s, _ := h.New(t)
		hit(t, s)
		s.Attach(ctx, key, []byte("x"), time.Minute)
		if ok, err := s.Detach(ctx, key, nil); !ok || err != nil {
			t.Fatalf("Detach(nil) = %v, %v", ok, err)
		}
		wantAttached(t, s, "", 0)
	})

	t.Run("the window lives as long as its value", func(t *testing.T) {
		s, advance := h.New(t)
		if ok, _, _ := s.Hit(ctx, key, 5, 2*time.Minute, 0); !ok {
			t.Fatal("Hit refused")
		}
		advance(time.Minute)
		if err := s.Attach(ctx, key, []byte("rec"), 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		advance(3 * time.Minute) // past the window's own end
		wantAttached(t, s, "rec", 2*time.Minute)
	})

	t.Run("parallel detach", func(t *testing.T) {
		s, _ := h.New(t)
		hit(t, s)
		s.Attach(ctx, key, []byte("rec"), time.Minute)
		var won atomic.Int64
		parallel(50, func(int) {
			if ok, err := s.Detach(ctx, key, []byte("rec")); err == nil && ok {
				won.Add(1)
			}
		})
		if won.Load() != 1 {
			t.Fatalf("%d of 50 parallel Detach calls won, want 1", won.Load())
		}
	})
}

func readWindow(s store.Store, key string) (int64, time.Duration, error) {
	if w, ok := s.(store.WindowReader); ok {
		return w.Window(context.Background(), key)
	}
	return 0, 0, errors.New("no WindowReader")
}
