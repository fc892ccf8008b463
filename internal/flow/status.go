package flow

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// CodeStatus is what the code page tells a visitor about their phone.
type CodeStatus struct {
	AttemptsLeft int           // wrong codes still allowed
	BlockedFor   time.Duration // 0 if not blocked
}

// Status reads, without changing anything, how many wrong codes phone may
// still enter and whether it is blocked.
func (f *Flow) Status(ctx context.Context, phone string) (CodeStatus, error) {
	left, err := f.blocked(ctx, phone)
	if err != nil {
		return CodeStatus{}, err
	}
	st := CodeStatus{AttemptsLeft: f.MaxAttempts, BlockedFor: left}
	raw, _, err := f.Store.Get(ctx, f.k("att", phone))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return CodeStatus{}, err
	default:
		// Incr keeps counters as decimal text, in every store.
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			st.AttemptsLeft = max(0, f.MaxAttempts-int(n))
		}
	}
	return st, nil
}
