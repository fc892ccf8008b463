package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/store"
)

// remember_device: after a code is verified with "trust this browser", the
// browser gets a long-lived device cookie, signed with its own derived key
// (a device token can never pass as a session, nor the reverse). While the
// same first-factor user comes back with it, a missing or ended session is
// re-issued without an SMS. It only ever stands in for the second factor:
// the first (basic_auth) is still asked on every request, which is why
// remember_device needs users_file.

// ErrDeviceRevoked is a device forgotten at logout, or ended by an admin
// revoke of its phone or by a loss of the store's data.
var ErrDeviceRevoked = errors.New("device forgotten")

// DeviceClaims: iss, sub (the phone), usr, iat, exp and jti (the device id,
// the key of its server-side revocation).
type DeviceClaims struct {
	jwt.RegisteredClaims
	User string `json:"usr"`
}

// Devices issues, checks and revokes device tokens.
type Devices struct {
	key    []byte
	issuer string
	ttl    time.Duration
	store  store.Store
	ns     string
	now    func() time.Time
	parser *jwt.Parser
}

// NewDevices returns the devices of protection domain ns, remembered for
// ttl, signed with key (Keys.Device).
func NewDevices(key []byte, issuer string, ttl time.Duration, st store.Store, ns string, now func() time.Time) *Devices {
	return &Devices{
		key: key, issuer: issuer, ttl: ttl, store: st, ns: ns, now: now,
		parser: tokenParser(issuer, now, jwt.WithIssuedAt()),
	}
}

// Issue signs a device token for user, whose listed phone is phone.
func (d *Devices) Issue(user, phone string) (string, error) {
	now := d.now()
	c := &DeviceClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    d.issuer,
			Subject:   phone,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(d.ttl)),
			ID:        newID(),
		},
		User: user,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(d.key)
	if err != nil {
		return "", fmt.Errorf("sign device: %w", err)
	}
	return tok, nil
}

// Parse checks a device token's signature, algorithm, issuer, times and
// subject, but not whose it is nor revocation.
func (d *Devices) Parse(token string) (*DeviceClaims, error) {
	c := new(DeviceClaims)
	if _, err := d.parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return d.key, nil }); err != nil {
		return nil, err
	}
	if c.User == "" || c.ID == "" {
		return nil, errors.New("device token lacks usr or jti")
	}
	if err := checkSubject(c.Subject); err != nil {
		return nil, err
	}
	return c, nil
}

// Check is Parse, then the device must be user's with their listed phone,
// not forgotten, not issued until an admin revoke of the phone, nor before
// a loss of the store's data. A store failure is a *StoreError: fail closed.
func (d *Devices) Check(ctx context.Context, token, user, phone string) (*DeviceClaims, error) {
	c, err := d.Parse(token)
	if err != nil {
		return nil, err
	}
	if c.User != user || c.Subject != phone {
		return nil, ErrOtherClient
	}
	// An admin revoke of the phone ends its devices too.
	if revoked, err := revokedIn(ctx, d.store, d.revokedKey(c.ID), d.phoneRevokedKey(c.Subject), c.IssuedAt); revoked || err != nil {
		return nil, cmp.Or(err, ErrDeviceRevoked)
	}
	return c, nil
}

// Revoke forgets the device everywhere, until its token would expire.
func (d *Devices) Revoke(ctx context.Context, c *DeviceClaims) error {
	ttl := c.ExpiresAt.Time.Sub(d.now()) + time.Second
	if ttl <= 0 {
		return nil
	}
	return store.Durably(d.store).Set(ctx, d.revokedKey(c.ID), []byte{1}, ttl)
}

func (d *Devices) revokedKey(id string) string { return d.ns + ":devrev:" + id }

// phoneRevokedKey is where Sessions.RevokePhone keeps the time of an
// admin revoke of phone (the same namespace, so the same key).
func (d *Devices) phoneRevokedKey(phone string) string { return d.ns + ":revphone:" + phone }
