package flow

import (
	"context"
	"testing"
)

// TestFlowCodeBoundToWholeChallengeID: the store keeps only the start of
// the challenge id beside the code's hash, so the hash must bind the rest:
// a challenge cookie that shares that start but not the whole id (forged,
// or another challenge's) gets nowhere with the right code.
func TestFlowCodeBoundToWholeChallengeID(t *testing.T) {
	c := newClock()
	f := newTestFlow(c, &fakeSMS{})
	ctx := context.Background()
	sent, err := f.Send(ctx, phoneA, ipA, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	code := f.Sender.(*fakeSMS).Last(t).Code
	for _, at := range []int{recIDLen, recIDLen + 1, IDLen / 2, IDLen - 1} {
		forged := sent.Challenge
		id := []byte(forged.ID)
		id[at] = map[bool]byte{true: 'A', false: 'B'}[id[at] != 'A']
		forged.ID = string(id)
		if k := refusalKind(f.Verify(ctx, forged, code)); k != InvalidCode {
			t.Errorf("right code with the id changed at byte %d: kind %d, want invalid_code", at, k)
		}
		// Spent: one attempt each, and the block after max_attempts.
		f.Store.Delete(ctx, f.k("att", phoneA))
	}
	if err := f.Verify(ctx, sent.Challenge, code); err != nil {
		t.Errorf("right code with the whole id: %v", err)
	}
}
