package session

import (
	"context"
	"time"

	"github.com/caddyotp/caddyotp/internal/fake"
	"github.com/caddyotp/caddyotp/store"
)

// testGrace is how long past its code's expiry a challenge token is still
// read by ParseLate (the handler's challengeGrace).
const testGrace = 15 * time.Minute

// clock is the stepped test clock.
type clock = fake.Clock

func newClock() *clock { return fake.NewClock() }

var errDown = fake.ErrDown

// brokenStore fails every call sessions and devices make, as a store that
// is down. (The store methods they never call are left nil.)
type brokenStore struct{ store.Store }

func (brokenStore) Get(context.Context, string) ([]byte, time.Duration, error) {
	return nil, 0, errDown
}
func (brokenStore) Set(context.Context, string, []byte, time.Duration) error { return errDown }
