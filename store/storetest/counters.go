package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// runPackedCounters: the SMS-pumping breakers (internal/flow/pumping.go)
// keep two counts in one counter, sends in the low 32 bits and
// verifications above, so that one Incr counts either and reads both.
// That needs Incr to take deltas of 2^32 and a delta of 0, to be atomic
// when both kinds race, and Get to read the counter as its decimal digits.
func runPackedCounters(t *testing.T, h Harness) {
	const unit = int64(1) << 32
	ctx := context.Background()
	s, advance := h.New(t)
	const sends, verifies = 40, 15
	got := make([]int64, sends+verifies)
	parallel(sends+verifies, func(i int) {
		delta := int64(1)
		if i >= sends {
			delta = unit
		}
		n, _, err := s.Incr(ctx, "pump", delta, time.Hour)
		if err != nil {
			t.Error(err)
		}
		got[i] = n
	})
	// Each send saw a distinct count of sends: the first one is told so.
	seen := map[int64]bool{}
	for _, n := range got[:sends] {
		seen[n&(unit-1)] = true
	}
	if len(seen) != sends || !seen[1] || !seen[sends] {
		t.Errorf("the sends' own counts are not 1..%d each once: %v", sends, got[:sends])
	}
	seen = map[int64]bool{}
	for _, n := range got[sends:] {
		seen[n>>32] = true
	}
	if len(seen) != verifies || !seen[1] {
		t.Errorf("the verifications' own counts are not 1..%d each once", verifies)
	}
	want := verifies*unit + sends
	if n, _, err := s.Incr(ctx, "pump", 0, time.Hour); err != nil || n != want {
		t.Errorf("Incr 0 = %d, %v; want %d", n, err, want)
	}
	if v, left, err := s.Get(ctx, "pump"); err != nil || string(v) != strconv.FormatInt(want, 10) || !h.ttlOK(left, time.Hour) {
		t.Errorf("Get = %q (%v), %v; want %d", v, left, err, want)
	}
	advance(time.Hour + time.Second)
	if n, _, err := s.Incr(ctx, "pump", unit, time.Hour); err != nil || n != unit {
		t.Errorf("a new window: Incr = %d, %v; want %d", n, err, unit)
	}
}
