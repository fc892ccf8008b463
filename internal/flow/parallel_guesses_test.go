package flow

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

// racingGuesses is a store that lines parallel verifies up the way a
// flood can race them: every guess passes the block check and reads the
// code before any reserves an attempt (so no block stops one early),
// then the guesses reserve their attempts in the order of their index,
// so a test knows which guess gets which attempt. A guess's index
// travels in its context.
type racingGuesses struct {
	store.Store
	checked atomic.Int32
	all     chan struct{}   // closed once every guess read the code
	turn    []chan struct{} // turn[i] is closed when guess i may reserve
}

type guessIndex struct{}

func newRacingGuesses(st store.Store, n int) *racingGuesses {
	r := &racingGuesses{Store: st, all: make(chan struct{}), turn: make([]chan struct{}, n+1)}
	for i := range r.turn {
		r.turn[i] = make(chan struct{})
	}
	close(r.turn[0])
	return r
}

// Attached is the code's read, after the block check: every guess holds
// the code before any reserves an attempt, so none finds it dropped by a
// block and stops short of its reservation.
func (r *racingGuesses) Attached(ctx context.Context, key string) ([]byte, time.Duration, error) {
	v, ttl, err := r.Store.Attached(ctx, key)
	if _, ok := ctx.Value(guessIndex{}).(int); ok {
		if int(r.checked.Add(1)) == len(r.turn)-1 {
			close(r.all)
		}
		select {
		case <-r.all:
		case <-ctx.Done():
		}
	}
	return v, ttl, err
}

func (r *racingGuesses) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, time.Duration, error) {
	i, ok := ctx.Value(guessIndex{}).(int)
	if !ok || delta <= 0 || !strings.Contains(key, ":att:") {
		return r.Store.Incr(ctx, key, delta, ttl)
	}
	select {
	case <-r.turn[i]:
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	defer close(r.turn[i+1])
	return r.Store.Incr(ctx, key, delta, ttl)
}

// countingChecks counts the codes a provider that checks them is asked
// about: each is a comparison.
type countingChecks struct {
	*remoteSMS
	checks atomic.Int32
}

func (c *countingChecks) Check(ctx context.Context, phone, code, ref string) (bool, error) {
	c.checks.Add(1)
	return c.remoteSMS.Check(ctx, phone, code, ref)
}

// TestFlowParallelGuessesGetAtMostMaxAttempts: a flood of parallel
// guesses at one challenge gets max_attempts comparisons, not one more,
// on the memory store as on Redis (TestFlowRedisParallelGuesses). Every
// guess is past the block check before the first is compared, and the
// guess that gets attempt max_attempts+1 is the right code: compared, it
// would sign in. With a provider that checks codes, its checks are
// counted too.
func TestFlowParallelGuessesGetAtMostMaxAttempts(t *testing.T) {
	const guesses = 50
	for _, remote := range []bool{false, true} {
		name := map[bool]string{false: "codes checked here", true: "codes checked by the provider"}[remote]
		t.Run(name, func(t *testing.T) {
			c := newClock()
			counter := &countingChecks{remoteSMS: &remoteSMS{Codes: map[string]string{}}}
			var sender sms.Provider = &fakeSMS{}
			if remote {
				sender = counter
			}
			f := newTestFlow(c, sender)
			race := newRacingGuesses(f.Store, guesses)
			f.Store = race
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ch, err := f.Send(ctx, phoneA, ipA, "h")
			if err != nil {
				t.Fatal(err)
			}
			code := counter.Code(phoneA)
			if !remote {
				code = f.Sender.(*fakeSMS).Last(t).Code
			}

			var wg sync.WaitGroup
			kinds := make([]Kind, guesses)
			for i := range guesses {
				guess := wrongCode(code)
				if i == f.MaxAttempts {
					guess = code
				}
				wg.Go(func() {
					err := f.Verify(context.WithValue(ctx, guessIndex{}, i), ch.Challenge, guess)
					kinds[i] = refusalKind(err)
					if err == nil {
						kinds[i] = -1
					}
				})
			}
			wg.Wait()
			if ctx.Err() != nil {
				t.Fatal("the guesses did not all reach the store in time")
			}
			invalid := 0
			for i, k := range kinds {
				switch k {
				case -1:
					t.Errorf("guess %d, attempt %d of %d, signed in", i, i+1, f.MaxAttempts)
				case InvalidCode:
					invalid++
				case Blocked:
				default:
					t.Errorf("guess %d: kind %d, want invalid_code or blocked", i, k)
				}
			}
			// Two answers say "wrong, try again"; the third wrong
			// comparison and every later guess say "blocked".
			if invalid != f.MaxAttempts-1 {
				t.Errorf("%d guesses got invalid_code, want %d", invalid, f.MaxAttempts-1)
			}
			if n := int(counter.checks.Load()); remote && n != f.MaxAttempts {
				t.Errorf("the provider checked %d codes, want %d", n, f.MaxAttempts)
			}
			if k := refusalKind(f.Verify(context.Background(), ch.Challenge, code)); k != Blocked {
				t.Errorf("after the flood: kind %d, want blocked", k)
			}
		})
	}
}
