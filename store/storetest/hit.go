package storetest

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// runHit checks Hit and Unhit: a limit per fixed window, a gap between
// events, refused events not counted, and Unhit giving back a slot.
func runHit(t *testing.T, h Harness) {
	ctx := context.Background()
	type step struct {
		wait      time.Duration
		unhit     bool
		allowed   bool
		retryWant time.Duration
	}
	for _, tc := range []struct {
		name  string
		limit int64
		gap   time.Duration
		steps []step
	}{
		{"limit in a window, then a new window", 2, 0, []step{
			{0, false, true, 0},
			{time.Minute, false, true, 0},
			{time.Minute, false, false, 58 * time.Minute},
			{58 * time.Minute, false, true, 0},
		}},
		{"gap between events", 5, 30 * time.Second, []step{
			{0, false, true, 0},
			{10 * time.Second, false, false, 20 * time.Second},
			{20 * time.Second, false, true, 0},
		}},
		{"unhit gives the slot and the gap back", 1, 30 * time.Second, []step{
			{0, false, true, 0},
			{time.Second, true, false, 0},
			{0, false, true, 0},
			{0, false, false, 30 * time.Second},
		}},
		{"refused events are not counted", 1, 0, []step{
			{0, false, true, 0},
			{0, false, false, time.Hour},
			{0, false, false, time.Hour},
			{time.Hour, false, true, 0},
		}},
		{"a zero limit refuses all", 0, 0, []step{
			{0, false, false, time.Hour},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, advance := h.New(t)
			for i, st := range tc.steps {
				if st.wait > 0 {
					advance(st.wait)
				}
				if st.unhit {
					if err := s.Unhit(ctx, "k"); err != nil {
						t.Fatalf("step %d: Unhit: %v", i, err)
					}
					continue
				}
				ok, retry, err := s.Hit(ctx, "k", tc.limit, time.Hour, tc.gap)
				if err != nil || ok != st.allowed || !h.ttlOK(retry, st.retryWant) {
					t.Fatalf("step %d: Hit = %v, %v, %v; want %v, %v", i, ok, retry, err, st.allowed, st.retryWant)
				}
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		s, _ := h.New(t)
		if _, _, err := s.Hit(ctx, "k", 1, 0, 0); err == nil {
			t.Error("Hit with a zero window: no error")
		}
		if err := s.Set(ctx, "plain", []byte("x"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Hit(ctx, "plain", 1, time.Minute, 0); err == nil {
			t.Error("Hit on a value that is not a window: no error")
		}
		if err := s.Unhit(ctx, "plain"); err == nil {
			t.Error("Unhit on a value that is not a window: no error")
		}
		if err := s.Unhit(ctx, "absent"); err != nil {
			t.Errorf("Unhit of an absent key: %v", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		s, _ := h.New(t)
		var allowed atomic.Int64
		parallel(50, func(int) {
			if ok, _, err := s.Hit(ctx, "k", 7, time.Hour, 0); err == nil && ok {
				allowed.Add(1)
			}
		})
		if allowed.Load() != 7 {
			t.Errorf("%d of 50 parallel hits allowed, want the limit 7", allowed.Load())
		}
	})
}

// runKeys checks Lister, for stores that have it.
func runKeys(t *testing.T, h Harness) {
	ctx := context.Background()
	s, advance := h.New(t)
	l, ok := s.(store.Lister)
	if !ok {
		t.Skipf("%T is not a store.Lister", s)
	}
	for _, kv := range []struct {
		key string
		ttl time.Duration
	}{
		{"otp:a:block:+1", time.Hour},
		{"otp:a:block:+2", time.Minute},
		{"otp:a:blockx", time.Hour},
		{"otp:a*:block:+3", time.Hour},
		{"otp:a?:[x]\\:+6", time.Hour},
		{"otp:b:block:+4", time.Hour},
	} {
		if err := s.Set(ctx, kv.key, []byte("1"), kv.ttl); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Incr(ctx, "otp:a:block:+5", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Minute) // +2 expires

	tests := []struct {
		prefix string
		want   []string
	}{
		{"otp:a:block:", []string{"otp:a:block:+1", "otp:a:block:+5"}},
		{"otp:a*:", []string{"otp:a*:block:+3"}}, // literal, not a glob
		{"otp:a?:[x]\\", []string{"otp:a?:[x]\\:+6"}},
		{"otp:c:", nil},
		{"", []string{"otp:a*:block:+3", "otp:a:block:+1", "otp:a:block:+5", "otp:a:blockx", "otp:a?:[x]\\:+6", "otp:b:block:+4"}},
	}
	for _, tt := range tests {
		got, err := l.Keys(ctx, tt.prefix)
		if err != nil {
			t.Fatalf("Keys(%q): %v", tt.prefix, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Keys(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

// runWindow checks WindowReader, for stores that have it.
func runWindow(t *testing.T, h Harness) {
	ctx := context.Background()
	s, advance := h.New(t)
	wr, ok := s.(store.WindowReader)
	if !ok {
		t.Skipf("%T is not a store.WindowReader", s)
	}
	if _, _, err := wr.Window(ctx, "w"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no window: err = %v, want ErrNotFound", err)
	}
	for range 3 {
		if ok, _, err := s.Hit(ctx, "w", 5, time.Hour, 0); !ok || err != nil {
			t.Fatalf("Hit = %v, %v", ok, err)
		}
	}
	advance(10 * time.Minute)
	if ok, _, _ := s.Hit(ctx, "w", 3, time.Hour, 0); ok {
		t.Fatal("a refused Hit was allowed")
	}
	n, left, err := wr.Window(ctx, "w")
	if err != nil || n != 3 || !h.ttlOK(left, 50*time.Minute) {
		t.Errorf("Window = %d, %v, %v; want 3 events, 50m left (a refused Hit is not counted)", n, left, err)
	}
	if err := s.Unhit(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := wr.Window(ctx, "w"); n != 2 {
		t.Errorf("after Unhit: %d events, want 2", n)
	}
	if err := s.Set(ctx, "s", []byte("abc"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := wr.Window(ctx, "s"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Window of a plain value: err = %v, want a format error", err)
	}
	advance(time.Hour)
	if _, _, err := wr.Window(ctx, "w"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired window: err = %v, want ErrNotFound", err)
	}
}
