package flow

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/internal/fake"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/memory"
)

// clock is the stepped test clock.
type clock = fake.Clock

func newClock() *clock { return fake.NewClock() }

// policyFunc is a Policy; allowAll withholds no number.
type policyFunc func(string) bool

func (p policyFunc) Permits(e164 string) bool { return p(e164) }

var allowAll = policyFunc(func(string) bool { return true })

// allowOnly withholds every number but phones.
func allowOnly(phones ...string) policyFunc {
	return func(p string) bool {
		for _, q := range phones {
			if p == q {
				return true
			}
		}
		return false
	}
}

// brokenStore fails every call, as a store that is down.
type brokenStore = fake.BrokenStore

var errDown = fake.ErrDown

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

// fakeSMS and remoteSMS are the in-process providers of the tests.
type (
	fakeSMS   = fake.SMS
	remoteSMS = fake.RemoteSMS
)

const (
	phoneA = "+12015550123"
	phoneB = "+12015550124"
	ipA    = "192.0.2.10"
)

func newTestFlow(c *clock, sender sms.Provider) *Flow {
	return &Flow{
		Store: memory.New(c.Now), Sender: sender, Now: c.Now, NS: "t",
		Key:        []byte("0123456789abcdef0123456789abcdef"),
		CodeLength: 6, CodeTTL: 5 * time.Minute, MaxAttempts: 3,
		BlockFor: 15 * time.Minute, ResendAfter: 30 * time.Second,
		LimitPhone: 5, LimitIP: 20, LimitGlobal: 1000,
		Policy:  allowAll,
		Message: func(code, host string) string { return code + " for " + host + "\n\n@" + host + " #" + code },
	}
}

func refusalKind(err error) Kind {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Kind
	}
	return 0
}

func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// mustFail is the error of a Send that must be refused.
func mustFail(_ Sent, err error) error { return err }
