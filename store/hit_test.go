package store

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryHit(t *testing.T) {
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			m := NewMemory(clk.Now)
			for i, s := range tc.steps {
				clk.Step(s.wait)
				if s.unhit {
					if err := m.Unhit(ctx, "k"); err != nil {
						t.Fatalf("step %d: Unhit: %v", i, err)
					}
					continue
				}
				ok, retry, err := m.Hit(ctx, "k", tc.limit, time.Hour, tc.gap)
				if err != nil || ok != s.allowed || retry != s.retryWant {
					t.Fatalf("step %d: Hit = %v, %v, %v; want %v, %v", i, ok, retry, err, s.allowed, s.retryWant)
				}
			}
		})
	}
}

func TestMemoryHitErrors(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(nil)
	if _, _, err := m.Hit(ctx, "k", 1, 0, 0); err == nil {
		t.Error("Hit with a zero window: no error")
	}
	m.Set(ctx, "plain", []byte("x"), time.Minute)
	if _, _, err := m.Hit(ctx, "plain", 1, time.Minute, 0); err == nil {
		t.Error("Hit on a value that is not a window: no error")
	}
	if err := m.Unhit(ctx, "absent"); err != nil {
		t.Errorf("Unhit of an absent key: %v", err)
	}
	var zero Memory
	if _, _, err := zero.Hit(ctx, "k", 1, time.Minute, 0); err == nil {
		t.Error("Hit on an unprovisioned store: no error")
	}
}

func TestMemoryHitConcurrent(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(nil)
	var allowed atomic.Int64
	parallel(50, func(int) {
		if ok, _, err := m.Hit(ctx, "k", 7, time.Hour, 0); err == nil && ok {
			allowed.Add(1)
		}
	})
	if allowed.Load() != 7 {
		t.Errorf("%d of 50 parallel hits allowed, want the limit 7", allowed.Load())
	}
}
