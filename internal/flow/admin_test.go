package flow

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/memory"
)

// blockPhone enters wrong codes until phone is blocked.
func blockPhone(t *testing.T, f *Flow, phone string) {
	t.Helper()
	ctx := context.Background()
	ch, err := f.Send(ctx, phone, ipA, "h")
	if err != nil {
		t.Fatal(err)
	}
	for range f.MaxAttempts {
		err = f.Verify(ctx, ch.Challenge, wrongCode(f.Sender.(*fakeSMS).Last(t).Code))
	}
	var ref *Refusal
	if !errors.As(err, &ref) || ref.Kind != Blocked || !ref.NewBlock {
		t.Fatalf("after %d wrong codes: %v, want a new block", f.MaxAttempts, err)
	}
}

func TestAdminFlowOps(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	f := newTestFlow(c, &fakeSMS{})
	f.NS = "otp:a"
	// Issuer "a:block" shares the memory store, and its keys start with
	// "otp:a:block:" too.
	g := newTestFlow(c, &fakeSMS{})
	g.Store, g.NS = f.Store, "otp:a:block"

	blockPhone(t, f, phoneA)
	c.Step(time.Minute)
	blockPhone(t, f, phoneB)
	blockPhone(t, g, phoneA)

	got, err := f.BlockedPhones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{phoneA, phoneB}; !slices.Equal(slices.Sorted(maps.Keys(got)), want) {
		t.Fatalf("blocked %v, want %v", got, want)
	}
	if got[phoneA] != 14*time.Minute || got[phoneB] != 15*time.Minute {
		t.Errorf("blocked for %v and %v, want 14m and 15m", got[phoneA], got[phoneB])
	}

	for _, tt := range []struct {
		phone string
		was   bool
	}{{phoneA, true}, {phoneA, false}, {"+12015550100", false}} {
		was, err := f.Unblock(ctx, tt.phone)
		if err != nil || was != tt.was {
			t.Errorf("unblock %s = %v, %v; want %v", tt.phone, was, err, tt.was)
		}
	}
	// Unblocked, with no resend wait and no attempts counted: a new code,
	// and max_attempts wrong codes before the next block.
	if _, err := f.Send(ctx, phoneA, ipA, "h"); err != nil {
		t.Fatalf("send after unblock: %v", err)
	}
	if got, _ := f.BlockedPhones(ctx); len(got) != 1 {
		t.Errorf("blocked after unblock: %v", got)
	}
	if got, _ := g.BlockedPhones(ctx); len(got) != 1 {
		t.Errorf("the other issuer's block was touched: %v", got)
	}

	used, resets, err := f.GlobalUsed(ctx)
	if err != nil || used != 3 || resets != time.Hour-time.Minute {
		t.Errorf("globalUsed = %d, %v, %v; want 3 codes, window ends in 59m", used, resets, err)
	}
	if used, resets, err := newTestFlow(c, &fakeSMS{}).GlobalUsed(ctx); used != 0 || resets != 0 || err != nil {
		t.Errorf("globalUsed with no window = %d, %v, %v", used, resets, err)
	}

	// A store that lists keys but cannot read them fails closed.
	m := memory.New(c.Now)
	if err := m.Set(ctx, f.k("block", phoneA), []byte{1}, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.Store = struct {
		failingGets
		store.Lister
		store.WindowReader
	}{failingGets{m, ":"}, m, downWindows{}}
	if _, err := f.BlockedPhones(ctx); err == nil || errors.Is(err, ErrCannotList) {
		t.Errorf("blockedPhones with Get failing: %v, want a store error", err)
	}
	if _, err := f.Unblock(ctx, phoneA); err == nil {
		t.Error("unblock with the store down: no error")
	}
	if _, _, err := f.GlobalUsed(ctx); err == nil || errors.Is(err, ErrCannotReadWindow) {
		t.Errorf("globalUsed with the store down: %v, want a store error", err)
	}
	f.Store = brokenStore{}
	if _, err := f.BlockedPhones(ctx); !errors.Is(err, ErrCannotList) {
		t.Errorf("blockedPhones on a store that cannot list: %v", err)
	}
	if _, _, err := f.GlobalUsed(ctx); !errors.Is(err, ErrCannotReadWindow) {
		t.Errorf("globalUsed on a store that cannot read windows: %v", err)
	}
}

// downWindows is a WindowReader whose store is down.
type downWindows struct{}

func (downWindows) Window(context.Context, string) (int64, time.Duration, error) {
	return 0, 0, errDown
}
