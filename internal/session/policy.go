package session

import (
	"fmt"
	"math"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// renewEvery is how often, at most, a session cookie is re-issued to
// slide its idle_timeout forward. Not on every request: a new token is a
// signature, a Set-Cookie and a cache miss on the next request.
const renewEvery = time.Minute

// MinIdleTimeout leaves room for renewEvery: a session in steady use is
// renewed at least once before it could go idle.
const MinIdleTimeout = 2 * renewEvery

var errIdle = fmt.Errorf("session idle too long: %w", jwt.ErrTokenExpired)

// lastSeen is when the session was last renewed: lst, or iat before that.
func (c *Claims) lastSeen() int64 {
	if c.LastSeen > 0 {
		return c.LastSeen
	}
	return c.IssuedAt.Unix()
}

// admit applies the rules beyond the JWT's own to a freshly parsed token:
// idle_timeout and s.Accept (the handler's phone rules and users_file).
// It returns when the session ends, in unix nanoseconds: exp, or earlier
// if it goes idle first. The cache keeps that end, so the hot path's one
// comparison covers both.
func (s *Sessions) admit(c *Claims, now time.Time) (int64, error) {
	end := unixNano(c.ExpiresAt.Time)
	if s.Idle > 0 {
		end = min(end, unixNano(time.Unix(c.lastSeen(), 0).Add(s.Idle)))
		if now.UnixNano() >= end {
			return 0, errIdle
		}
	}
	if s.Accept != nil {
		if err := s.Accept(c); err != nil {
			return 0, err
		}
	}
	return end, nil
}

// unixNano is t.UnixNano, but a time past what int64 nanoseconds hold
// (the year 2262) is the largest one, not a wrapped negative: an exp that
// Parse accepted must not read as long past (found by FuzzSessionParse),
// nor a lst from before 1678 as far ahead.
func unixNano(t time.Time) int64 {
	switch {
	case t.After(maxUnixNano):
		return math.MaxInt64
	case t.Before(minUnixNano):
		return math.MinInt64
	}
	return t.UnixNano()
}

var (
	maxUnixNano = time.Unix(0, math.MaxInt64)
	minUnixNano = time.Unix(0, math.MinInt64)
)

// Renew is the token that slides v's idle_timeout forward, if it is due
// (renewEvery since lst), and how long its cookie should live. The new
// token keeps jti, iat and exp: revoking the session revokes every token
// of it, and the absolute limit session_ttl never moves. One renewal is
// made per verified token, however many requests carry it at once.
func (s *Sessions) Renew(v *Verified) (string, time.Duration, bool) {
	now := s.now()
	if s.Idle == 0 || now.Unix()-v.Claims.lastSeen() < int64(renewEvery/time.Second) {
		return "", 0, false
	}
	left := v.Claims.ExpiresAt.Time.Sub(now)
	if left <= 0 {
		return "", 0, false
	}
	if p := v.renewed.Load(); p != nil {
		return *p, left, true
	}
	c := *v.Claims
	c.LastSeen = now.Unix()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &c).SignedString(s.key)
	if err != nil {
		return "", 0, false // the old token still works until it idles
	}
	v.renewed.CompareAndSwap(nil, &tok)
	return *v.renewed.Load(), left, true
}
