package caddyotp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

// clock is the stepped test clock.
type clock = fakegw.Clock

func newClock() *clock { return fakegw.NewClock() }

// brokenStore fails every call, as a store that is down.
type brokenStore = fakegw.BrokenStore

var errDown = fakegw.ErrDown

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
	m.Code = flow.RandomCode(m.CodeLength)
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
