package fake

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/caddyotp/caddyotp/sms"
)

// SMS is an in-process provider for the flow's and the handler's unit
// tests: it records what it was asked to send; Fail makes it refuse.
type SMS struct {
	mu   sync.Mutex
	sent []sms.Message
	Fail error
}

// Send records m, or answers Fail.
func (f *SMS) Send(_ context.Context, m sms.Message) (sms.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Fail != nil {
		return sms.Result{}, f.Fail
	}
	f.sent = append(f.sent, m)
	return sms.Result{ID: fmt.Sprint(len(f.sent))}, nil
}

// Last is the last message sent; the test fails if there is none.
func (f *SMS) Last(t testing.TB) sms.Message {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		t.Fatal("no SMS sent")
	}
	return f.sent[len(f.sent)-1]
}

// To is the last message sent to phone; a zero Message if none was.
func (f *SMS) To(phone string) sms.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.sent) - 1; i >= 0; i-- {
		if f.sent[i].Phone == phone {
			return f.sent[i]
		}
	}
	return sms.Message{}
}

// Count is how many messages were sent.
func (f *SMS) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// RemoteSMS makes and checks codes itself, like Dexatel with check
// remote; CheckErr makes its checks fail.
type RemoteSMS struct {
	SMS
	Codes    map[string]string
	CheckErr error
}

// ChecksRemotely says the provider checks codes.
func (r *RemoteSMS) ChecksRemotely() bool { return true }

// Send makes the code (a real provider would text it) and records it.
func (r *RemoteSMS) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	if m.Code != "" {
		return sms.Result{}, errors.New("remote provider was handed a code")
	}
	for range m.CodeLength {
		m.Code += fmt.Sprint(rand.IntN(10))
	}
	r.mu.Lock()
	r.Codes[m.Phone] = m.Code
	r.mu.Unlock()
	return r.SMS.Send(ctx, m)
}

// Check tells whether code is the one made for phone.
func (r *RemoteSMS) Check(_ context.Context, phone, code, _ string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.CheckErr != nil {
		return false, r.CheckErr
	}
	return r.Codes[phone] == code, nil
}

// Code is the code made for phone, read under the lock.
func (r *RemoteSMS) Code(phone string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Codes[phone]
}
