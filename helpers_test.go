package caddyotp

import (
	"context"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/internal/fake"
	"github.com/caddyotp/caddyotp/store"
)

// clock is the stepped test clock.
type clock = fake.Clock

func newClock() *clock { return fake.NewClock() }

// brokenStore fails every call, as a store that is down.
type brokenStore = fake.BrokenStore

var errDown = fake.ErrDown

// fakeSMS and remoteSMS are the in-process providers of the tests.
type (
	fakeSMS   = fake.SMS
	remoteSMS = fake.RemoteSMS
)

const (
	phoneA = "+12015550123"
	phoneB = "+12015550124"
)

// wrongCode is a code of code's length that is not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

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
