package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

// clock is the stepped test clock.
type clock = fakegw.Clock

func newClock() *clock { return fakegw.NewClock() }

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
type brokenStore = fakegw.BrokenStore

var errDown = fakegw.ErrDown

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

// fakeSMS records what it was asked to send; fail makes it refuse.
type fakeSMS struct {
	mu   sync.Mutex
	sent []sms.Message
	fail error
}

func (f *fakeSMS) Send(_ context.Context, m sms.Message) (sms.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return sms.Result{}, f.fail
	}
	f.sent = append(f.sent, m)
	return sms.Result{ID: fmt.Sprint(len(f.sent))}, nil
}

func (f *fakeSMS) last(t *testing.T) sms.Message {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		t.Fatal("no SMS sent")
	}
	return f.sent[len(f.sent)-1]
}

func (f *fakeSMS) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// remoteSMS makes and checks codes itself, like Dexatel with check remote.
type remoteSMS struct {
	fakeSMS
	codes    map[string]string
	checkErr error
}

func (r *remoteSMS) ChecksRemotely() bool { return true }

func (r *remoteSMS) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	if m.Code != "" {
		return sms.Result{}, errors.New("remote provider was handed a code")
	}
	m.Code = RandomCode(m.CodeLength)
	r.mu.Lock()
	r.codes[m.Phone] = m.Code
	r.mu.Unlock()
	return r.fakeSMS.Send(ctx, m)
}

func (r *remoteSMS) Check(_ context.Context, phone, code, _ string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checkErr != nil {
		return false, r.checkErr
	}
	return r.codes[phone] == code, nil
}

const (
	phoneA = "+12015550123"
	phoneB = "+12015550124"
	ipA    = "192.0.2.10"
)

func newTestFlow(c *clock, sender sms.Provider) *Flow {
	return &Flow{
		Store: store.NewMemory(c.Now), Sender: sender, Now: c.Now, NS: "t",
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
