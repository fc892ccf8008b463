package caddyotp

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestImitateSend: a withheld send waits like a recent real send and ends
// like the latest one, with no real sleep (the wait is injected).
func TestImitateSend(t *testing.T) {
	var waited []time.Duration
	f := &flow{sends: new(recentSends), wait: func(_ context.Context, d time.Duration) error {
		waited = append(waited, d)
		return nil
	}}
	ctx := context.Background()

	if err := f.imitateSend(ctx); err != nil || len(waited) != 1 || waited[0] < coldStartMin || waited[0] >= coldStartMax {
		t.Fatalf("before any real send: err %v, waited %v; want a wait in [%v, %v)", err, waited, coldStartMin, coldStartMax)
	}

	for _, d := range []time.Duration{300, 310, 290} {
		f.sends.record(d*time.Millisecond, nil)
	}
	waited = nil
	for range 20 {
		if err := f.imitateSend(ctx); err != nil {
			t.Fatalf("after good sends: %v", err)
		}
	}
	for _, d := range waited {
		if d != 290*time.Millisecond && d != 300*time.Millisecond && d != 310*time.Millisecond {
			t.Errorf("waited %v, not one of the real sends' times", d)
		}
	}

	// An outage: the latest send failed, so a withheld one fails too,
	// taking as long as a failed one did.
	outage := errors.New("dexatel: 500")
	f.sends.record(2*time.Millisecond, outage)
	waited = nil
	if err := f.imitateSend(ctx); !errors.Is(err, outage) || len(waited) != 1 || waited[0] != 2*time.Millisecond {
		t.Errorf("during an outage: err %v, waited %v; want the outage's error after 2ms", err, waited)
	}
	f.sends.record(305*time.Millisecond, nil)
	if err := f.imitateSend(ctx); err != nil {
		t.Errorf("after the outage: %v", err)
	}

	// The visitor leaving ends the wait.
	f.wait = sleep
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.imitateSend(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestRecentSendsWrap: the ring keeps the latest sends only.
func TestRecentSendsWrap(t *testing.T) {
	s := new(recentSends)
	for i := range 100 {
		s.record(time.Duration(i), nil)
	}
	for range 50 {
		if p, ok := s.pick(); !ok || p.took < 100-time.Duration(len(s.samples)) {
			t.Fatalf("pick %v, %v: older than the last %d sends", p.took, ok, len(s.samples))
		}
	}
}
