package caddyotp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

// remember_device: after a code is verified with "trust this browser", the
// browser gets a long-lived device cookie, signed with its own derived key
// (a device token can never pass as a session, nor the reverse). While the
// same first-factor user comes back with it, a missing or ended session is
// re-issued without an SMS. It only ever stands in for the second factor:
// the first (basic_auth) is still asked on every request, which is why
// remember_device needs users_file.

var errDeviceRevoked = errors.New("device forgotten")

// deviceClaims: iss, sub (the phone), usr, iat, exp and jti (the device id,
// the key of its server-side revocation).
type deviceClaims struct {
	jwt.RegisteredClaims
	User string `json:"usr"`
}

type devices struct {
	key    []byte
	issuer string
	ttl    time.Duration
	store  store.Store
	ns     string
	now    func() time.Time
	parser *jwt.Parser
}

func newDevices(key []byte, issuer string, ttl time.Duration, st store.Store, ns string, now func() time.Time) *devices {
	return &devices{
		key: key, issuer: issuer, ttl: ttl, store: st, ns: ns, now: now,
		parser: tokenParser(issuer, now, jwt.WithIssuedAt()),
	}
}

func (d *devices) issue(user, phone string) (string, error) {
	now := d.now()
	c := &deviceClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    d.issuer,
			Subject:   phone,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(d.ttl)),
			ID:        randomID(),
		},
		User: user,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(d.key)
	if err != nil {
		return "", fmt.Errorf("sign device: %w", err)
	}
	return tok, nil
}

func (d *devices) parse(token string) (*deviceClaims, error) {
	c := new(deviceClaims)
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

// check is parse, then the device must be user's with their listed phone,
// not forgotten, not issued until an admin revoke of the phone, nor before
// a loss of the store's data. A store failure is a *storeError: fail closed.
func (d *devices) check(ctx context.Context, token, user, phone string) (*deviceClaims, error) {
	c, err := d.parse(token)
	if err != nil {
		return nil, err
	}
	if c.User != user || c.Subject != phone {
		return nil, errOtherClient
	}
	switch _, _, err := d.store.Get(ctx, d.revokedKey(c.ID)); {
	case err == nil:
		return nil, errDeviceRevoked
	case !errors.Is(err, store.ErrNotFound):
		return nil, &storeError{err}
	}
	// An admin revoke of the phone ends its devices too.
	if revoked, err := revokedSince(ctx, d.store, d.phoneRevokedKey(c.Subject), c.IssuedAt); revoked || err != nil {
		return nil, cmp.Or(err, errDeviceRevoked)
	}
	if lost, err := issuedBeforeLoss(ctx, d.store, c.IssuedAt); lost || err != nil {
		return nil, cmp.Or(err, errDeviceRevoked)
	}
	return c, nil
}

// revoke forgets the device everywhere, until its token would expire.
func (d *devices) revoke(ctx context.Context, c *deviceClaims) error {
	ttl := c.ExpiresAt.Time.Sub(d.now()) + time.Second
	if ttl <= 0 {
		return nil
	}
	return store.Durably(d.store).Set(ctx, d.revokedKey(c.ID), []byte{1}, ttl)
}

func (d *devices) revokedKey(id string) string { return d.ns + ":devrev:" + id }

// phoneRevokedKey is where sessions.revokePhone keeps the time of an
// admin revoke of phone (the same namespace, so the same key).
func (d *devices) phoneRevokedKey(phone string) string { return d.ns + ":revphone:" + phone }

func (h *Handler) deviceCookie() string { return h.CookieName + "_device" }

// deviceSession issues a session, without an SMS, to a request that has
// none but carries a remembered device of its first-factor user. It
// returns why not otherwise: fail is returned for a missing or unusable
// device, so the caller answers as it would have; a store error fails
// closed.
func (h *Handler) deviceSession(w http.ResponseWriter, r *http.Request, fail error) (*verified, error) {
	tok, ok := cookieValue(r.Header["Cookie"], h.deviceCookie())
	if !ok {
		return nil, fail
	}
	user, phone, ref := h.userPhone(r)
	if ref != nil {
		return nil, fail
	}
	// The rules that end a session end a remembered device too: users_file
	// (user and phone, in check) and allow, allow_file, countries here.
	if !h.flow.Policy.Permits(phone) {
		return nil, fail
	}
	dc, err := h.devices.check(r.Context(), tok, user, phone)
	if err != nil {
		if isStoreError(err) {
			return nil, err
		}
		return nil, fail
	}
	stok, c, err := h.sessions.issue(phone, user, h.boundIP(r))
	if err != nil {
		return nil, &storeError{err}
	}
	v, err := h.sessions.lookup(r.Context(), stok)
	if err != nil {
		return nil, err
	}
	h.setCookie(w, r, h.CookieName, stok, "/", time.Duration(h.SessionTTL), http.SameSiteLaxMode)
	h.logger.Info("session from remembered device", zap.String("phone", sms.MaskPhone(phone)),
		zap.String("client_ip", clientIP(r)), zap.String("device", dc.ID), zap.String("session", c.ID))
	return v, nil
}

// rememberDevice sets the device cookie after a verified code, if the
// visitor asked for it and remember_device is on.
func (h *Handler) rememberDevice(w http.ResponseWriter, r *http.Request, in *input, user, phone string) {
	if h.devices == nil || !in.Remember || user == "" {
		return
	}
	tok, err := h.devices.issue(user, phone)
	if err != nil {
		h.logger.Error("cannot remember device", zap.Error(err))
		return
	}
	h.setCookie(w, r, h.deviceCookie(), tok, "/", time.Duration(h.RememberDevice), http.SameSiteLaxMode)
}

// forgetDevice revokes the browser's device cookie server-side and clears
// it: logout's "forget this browser".
func (h *Handler) forgetDevice(w http.ResponseWriter, r *http.Request) error {
	h.clearCookie(w, r, h.deviceCookie(), "/")
	ck, err := r.Cookie(h.deviceCookie())
	if err != nil || h.devices == nil {
		return nil
	}
	c, err := h.devices.parse(ck.Value)
	if err != nil {
		return nil // nothing a forged or expired cookie could still open
	}
	if err := h.devices.revoke(r.Context(), c); err != nil {
		return err
	}
	h.logger.Info("device forgotten", zap.String("phone", sms.MaskPhone(c.Subject)), zap.String("device", c.ID))
	return nil
}

// boundIP is the client IP to put in a new session: with bind_ip only.
func (h *Handler) boundIP(r *http.Request) string {
	if h.BindIP {
		return clientIP(r)
	}
	return ""
}
