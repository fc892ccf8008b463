package caddyotp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

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

// brokenStore fails every call, as a store that is down.
type brokenStore struct{}

var errDown = errors.New("dial tcp: connection refused")

func (brokenStore) Get(context.Context, string) ([]byte, time.Duration, error) {
	return nil, 0, errDown
}
func (brokenStore) Set(context.Context, string, []byte, time.Duration) error { return errDown }
func (brokenStore) SetNX(context.Context, string, []byte, time.Duration) (bool, time.Duration, error) {
	return false, 0, errDown
}
func (brokenStore) Incr(context.Context, string, int64, time.Duration) (int64, time.Duration, error) {
	return 0, 0, errDown
}
func (brokenStore) CompareAndDelete(context.Context, string, []byte) (bool, error) {
	return false, errDown
}
func (brokenStore) Delete(context.Context, ...string) error { return errDown }
func (brokenStore) Hit(context.Context, string, int64, time.Duration, time.Duration) (bool, time.Duration, error) {
	return false, 0, errDown
}
func (brokenStore) Unhit(context.Context, string) error { return errDown }
func (brokenStore) Attach(context.Context, string, []byte, time.Duration) error {
	return errDown
}
func (brokenStore) Attached(context.Context, string) ([]byte, time.Duration, error) {
	return nil, 0, errDown
}
func (brokenStore) Detach(context.Context, string, []byte) (bool, error) { return false, errDown }

var _ store.Store = brokenStore{}

// failingGets is a store whose Get fails for keys holding part.
type failingGets struct {
	store.Store
	part string
}

func (f failingGets) Get(ctx context.Context, key string) ([]byte, time.Duration, error) {
	if strings.Contains(key, f.part) {
		return nil, 0, errDown
	}
	return f.Store.Get(ctx, key)
}
