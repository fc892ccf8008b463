// Package fake holds the in-process stand-ins of the unit tests: a
// stepped clock, a store that is down, and SMS providers that record what
// they are asked. (The gateways that speak the providers' wire formats are
// in internal/fakegw.)
package fake

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// The fakes of this file stand in for what is not a gateway: a clock that
// tests step instead of sleeping, and a store that is down.

// Clock is a stepped clock for tests: it moves only when a test steps it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a Clock at a fixed time.
func NewClock() *Clock { return ClockAt(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) }

// ClockAt is a Clock at t.
func ClockAt(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Step moves the clock on by d.
func (c *Clock) Step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// ErrDown is what a BrokenStore answers: a store that cannot be reached.
var ErrDown = errors.New("dial tcp: connection refused")

// BrokenStore fails every call with ErrDown, as a store that is down.
type BrokenStore struct{}

func (BrokenStore) Get(context.Context, string) ([]byte, time.Duration, error) {
	return nil, 0, ErrDown
}
func (BrokenStore) Set(context.Context, string, []byte, time.Duration) error { return ErrDown }
func (BrokenStore) SetNX(context.Context, string, []byte, time.Duration) (bool, time.Duration, error) {
	return false, 0, ErrDown
}
func (BrokenStore) Incr(context.Context, string, int64, time.Duration) (int64, time.Duration, error) {
	return 0, 0, ErrDown
}
func (BrokenStore) CompareAndDelete(context.Context, string, []byte) (bool, error) {
	return false, ErrDown
}
func (BrokenStore) Delete(context.Context, ...string) error { return ErrDown }
func (BrokenStore) Hit(context.Context, string, int64, time.Duration, time.Duration) (bool, time.Duration, error) {
	return false, 0, ErrDown
}
func (BrokenStore) Unhit(context.Context, string) error { return ErrDown }
func (BrokenStore) Attach(context.Context, string, []byte, time.Duration) error {
	return ErrDown
}
func (BrokenStore) Attached(context.Context, string) ([]byte, time.Duration, error) {
	return nil, 0, ErrDown
}
func (BrokenStore) Detach(context.Context, string, []byte) (bool, error) { return false, ErrDown }

var _ store.Store = BrokenStore{}
