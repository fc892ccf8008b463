package flow

import (
	"context"
	"testing"
	"time"
)

// TestFlowStatus: the code page's counts follow wrong codes and the block,
// and reading them changes nothing.
func TestFlowStatus(t *testing.T) {
	ctx := context.Background()
	fs := &fakeSMS{}
	f := newTestFlow(newClock(), fs)
	sent, err := f.Send(ctx, phoneA, ipA, "h")
	if err != nil {
		t.Fatal(err)
	}
	want := func(step string, left int, blocked time.Duration) {
		t.Helper()
		for range 2 { // a second read finds the same
			st, err := f.Status(ctx, phoneA)
			if err != nil || st.AttemptsLeft != left || st.BlockedFor != blocked {
				t.Fatalf("%s: %+v, %v; want %d left, blocked %v", step, st, err, left, blocked)
			}
		}
	}
	want("fresh", 3, 0)
	wrong := wrongCode(fs.Last(t).Code)
	f.Verify(ctx, sent.Challenge, wrong)
	want("one wrong code", 2, 0)
	f.Verify(ctx, sent.Challenge, wrong)
	f.Verify(ctx, sent.Challenge, wrong)
	want("blocked", 0, 15*time.Minute)

	f.Store = brokenStore{}
	if _, err := f.Status(ctx, phoneA); err == nil {
		t.Error("store down: no error")
	}
}
