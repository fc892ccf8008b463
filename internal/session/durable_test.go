package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/memory"
)

// lossyStore is a memory store that has lost its data until a given Unix
// second, or cannot tell (err).
type lossyStore struct {
	*memory.Memory
	until int64
	err   error
}

func (l *lossyStore) LostBefore(context.Context) (int64, error) { return l.until, l.err }

func TestSessionsIssuedBeforeLossAreRefused(t *testing.T) {
	c := newClock()
	k, err := DeriveKeys(testSecret, "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	st := &lossyStore{Memory: memory.New(c.Now)}
	defer st.Cleanup()
	s := New(k.Session, "phone_otp", testSessionTTL, st, "otp:test", c.Now)
	d := NewDevices(k.Device, "phone_otp", 30*24*time.Hour, st, "otp:test", c.Now)
	ctx := context.Background()

	before, _, _ := s.Issue("+12015550123", "", "")
	dev, _ := d.Issue("alice", "+12015550123")
	c.Step(5 * time.Second)
	st.until = c.Now().Unix() - 1 // the loss, found 1s ago
	c.Step(time.Second)
	after, _, _ := s.Issue("+12015550123", "", "")

	if _, err := s.Check(ctx, before); !errors.Is(err, ErrRevoked) {
		t.Errorf("session issued before the loss: %v, want ErrRevoked", err)
	}
	if _, err := d.Check(ctx, dev, "alice", "+12015550123"); !errors.Is(err, ErrDeviceRevoked) {
		t.Errorf("device issued before the loss: %v, want ErrDeviceRevoked", err)
	}
	if _, err := s.Check(ctx, after); err != nil {
		t.Errorf("session issued after the loss: %v", err)
	}

	st.err = errDown
	fresh, _, _ := s.Issue("+12015550124", "", "")
	if _, err := s.Check(ctx, fresh); !IsStoreError(err) {
		t.Errorf("store cannot tell: %v, want a store error (503)", err)
	}
}

func TestDeviceEndsWithAdminRevoke(t *testing.T) {
	c := newClock()
	k, err := DeriveKeys(testSecret, "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(c.Now)
	defer st.Cleanup()
	s := New(k.Session, "phone_otp", testSessionTTL, st, "otp:test", c.Now)
	d := NewDevices(k.Device, "phone_otp", 30*24*time.Hour, st, "otp:test", c.Now)
	ctx := context.Background()

	dev, _ := d.Issue("alice", "+12015550123")
	other, _ := d.Issue("carol", "+12015550125")
	c.Step(time.Hour)
	if err := s.RevokePhone(ctx, "+12015550123", 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	c.Step(time.Second)
	if _, err := d.Check(ctx, dev, "alice", "+12015550123"); !errors.Is(err, ErrDeviceRevoked) {
		t.Errorf("device of the revoked phone: %v, want ErrDeviceRevoked", err)
	}
	if _, err := d.Check(ctx, other, "carol", "+12015550125"); err != nil {
		t.Errorf("device of another phone: %v", err)
	}
	later, _ := d.Issue("alice", "+12015550123")
	if _, err := d.Check(ctx, later, "alice", "+12015550123"); err != nil {
		t.Errorf("device remembered after the revoke: %v", err)
	}
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

func TestSessionRevokePhone(t *testing.T) {
	const otherPhone = "+12015550199"
	f := newSessionFixture(t)
	ctx := context.Background()
	issue := func(phone string) string {
		t.Helper()
		tok, _, err := f.s.Issue(phone, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	before := issue(testPhone)
	user := func() string { // a second-factor session of the same phone
		tok, _, err := f.s.Issue(testPhone, "alice", "")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}()
	other := issue(otherPhone)
	f.clock.Step(10*time.Second + 300*time.Millisecond)
	if err := f.s.RevokePhone(ctx, testPhone, testSessionTTL); err != nil {
		t.Fatal(err)
	}
	sameSecond := issue(testPhone)
	f.clock.Step(time.Second)
	after := issue(testPhone)

	tests := []struct {
		name    string
		token   string
		revoked bool
	}{
		{"issued before", before, true},
		{"second factor, issued before", user, true},
		{"issued in the second of the revocation", sameSecond, true},
		{"issued the second after", after, false},
		{"another phone", other, false},
	}
	for _, tt := range tests {
		_, err := f.s.Check(ctx, tt.token)
		if tt.revoked && !errors.Is(err, ErrRevoked) {
			t.Errorf("%s: err = %v, want ErrRevoked", tt.name, err)
		}
		if !tt.revoked && err != nil {
			t.Errorf("%s: err = %v, want a valid session", tt.name, err)
		}
	}

	// The record outlives every session it revokes (it was set for
	// session_ttl+1s a second ago), and then goes.
	key := f.s.phoneRevokedKey(testPhone)
	if _, ttl, err := f.store.Get(ctx, key); err != nil || ttl != testSessionTTL {
		t.Errorf("record ttl = %v, %v; want %v", ttl, err, testSessionTTL)
	}

	// A session checked (and so cached) before a revocation is refused
	// at once: the memory store pushes the revocation.
	f.clock.Step(time.Minute)
	if _, err := f.s.Check(ctx, after); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RevokePhone(ctx, testPhone, testSessionTTL); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Check(ctx, after); !errors.Is(err, ErrRevoked) {
		t.Errorf("cached session after a revocation: err = %v, want ErrRevoked", err)
	}

	// A damaged record fails closed.
	fresh := issue(testPhone)
	f.clock.Step(time.Second)
	if err := f.store.Set(ctx, key, []byte("garbage"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Check(ctx, fresh); !errors.Is(err, ErrRevoked) {
		t.Errorf("damaged record: err = %v, want ErrRevoked", err)
	}

	// A store that cannot answer for the phone fails closed with a store error.
	s := New(f.keys.Session, "phone_otp", testSessionTTL, failingGets{f.store, ":revphone:"}, "otp:test", f.clock.Now)
	if _, err := s.Check(ctx, other); !IsStoreError(err) {
		t.Errorf("store down for the phone record: err = %v, want a store error", err)
	}
}
