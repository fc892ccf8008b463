package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// lossyStore is a memory store that has lost its data until a given Unix
// second, or cannot tell (err).
type lossyStore struct {
	*store.Memory
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
	st := &lossyStore{Memory: store.NewMemory(c.Now)}
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
	st := store.NewMemory(c.Now)
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
