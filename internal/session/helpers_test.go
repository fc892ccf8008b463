package session

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// testGrace is how long past its code's expiry a challenge token is still
// read by ParseLate (the handler's challengeGrace).
const testGrace = 15 * time.Minute

// clock is a stepped clock for tests: it moves only when a test steps it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var errDown = errors.New("dial tcp: connection refused")

// brokenStore fails every call sessions and devices make, as a store that
// is down. (The store methods they never call are left nil.)
type brokenStore struct{ store.Store }

func (brokenStore) Get(context.Context, string) ([]byte, time.Duration, error) {
	return nil, 0, errDown
}
func (brokenStore) Set(context.Context, string, []byte, time.Duration) error { return errDown }
