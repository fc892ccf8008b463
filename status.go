package caddyotp

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// codeStatus is what the code page tells a visitor about their phone.
type codeStatus struct {
	attemptsLeft int           // wrong codes still allowed
	blockedFor   time.Duration // 0 if not blocked
}

// status reads, without changing anything, how many wrong codes phone may
// still enter and whether it is blocked.
func (f *flow) status(ctx context.Context, phone string) (codeStatus, error) {
	left, err := f.blocked(ctx, phone)
	if err != nil {
		return codeStatus{}, err
	}
	st := codeStatus{attemptsLeft: f.maxAttempts, blockedFor: left}
	raw, _, err := f.store.Get(ctx, f.k("att", phone))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return codeStatus{}, err
	default:
		// Incr keeps counters as decimal text, in every store.
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			st.attemptsLeft = max(0, f.maxAttempts-int(n))
		}
	}
	return st, nil
}
