package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestDeviceTokens(t *testing.T) {
	ctx := context.Background()
	f := newSessionFixture(t)
	d := NewDevices(f.keys.Device, "phone_otp", 30*24*time.Hour, f.store, "otp:test", f.clock.Now)
	tok, err := d.Issue("alice", testPhone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Check(ctx, tok, "alice", testPhone); err != nil {
		t.Fatalf("own device refused: %v", err)
	}
	if _, err := d.Check(ctx, tok, "carol", testPhone); err == nil {
		t.Error("alice's device passes for carol")
	}
	if _, err := d.Check(ctx, tok, "alice", "+12015550199"); err == nil {
		t.Error("device passes after alice's listed phone changed")
	}
	// A device token is not a session, and a session is not a device.
	if _, err := f.s.Parse(tok); err == nil {
		t.Error("device token parses as a session")
	}
	stok, _, _ := f.s.Issue(testPhone, "alice", "")
	if _, err := d.Check(ctx, stok, "alice", testPhone); err == nil {
		t.Error("session token passes as a device")
	}
	// Nor does it pass in another domain, nor with a sub that is no phone.
	ok, err := DeriveKeys(testSecret, "otp:other")
	if err != nil {
		t.Fatal(err)
	}
	od := NewDevices(ok.Device, "phone_otp", time.Hour, f.store, "otp:other", f.clock.Now)
	if _, err := od.Check(ctx, tok, "alice", testPhone); err == nil {
		t.Error("device passes in another domain")
	}
	if bad, err := d.Issue("alice", "alice<script>"); err != nil {
		t.Fatal(err)
	} else if _, err := d.Parse(bad); err == nil {
		t.Error("device whose sub is no phone parses")
	}
	c, _ := d.Parse(tok)
	if err := d.Revoke(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Check(ctx, tok, "alice", testPhone); !errors.Is(err, ErrDeviceRevoked) {
		t.Errorf("forgotten device: err = %v, want revoked", err)
	}
	tok2, _ := d.Issue("alice", testPhone)
	f.clock.Step(30*24*time.Hour + time.Second)
	if _, err := d.Check(ctx, tok2, "alice", testPhone); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("expired device: err = %v", err)
	}
	bd := NewDevices(f.keys.Device, "phone_otp", time.Hour, brokenStore{}, "otp:test", f.clock.Now)
	tok3, _ := bd.Issue("alice", testPhone)
	if _, err := bd.Check(ctx, tok3, "alice", testPhone); !IsStoreError(err) {
		t.Errorf("store down: err = %v, want a store error (fail closed)", err)
	}
}
