package caddyotp

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// renewEvery is how often, at most, a session cookie is re-issued to
// slide its idle_timeout forward. Not on every request: a new token is a
// signature, a Set-Cookie and a cache miss on the next request.
const renewEvery = time.Minute

// minIdleTimeout leaves room for renewEvery: a session in steady use is
// renewed at least once before it could go idle.
const minIdleTimeout = 2 * renewEvery

var (
	errIdle        = fmt.Errorf("session idle too long: %w", jwt.ErrTokenExpired)
	errOtherClient = errors.New("session belongs to another user or address")
	errNotAdmitted = errors.New("phone no longer admitted by allow, allow_file or countries")
)

// lastSeen is when the session was last renewed: lst, or iat before that.
func (c *claims) lastSeen() int64 {
	if c.LastSeen > 0 {
		return c.LastSeen
	}
	return c.IssuedAt.Unix()
}

// admit applies the rules beyond the JWT's own to a freshly parsed token:
// idle_timeout and s.accept (the handler's phone rules and users_file).
// It returns when the session ends, in unix nanoseconds: exp, or earlier
// if it goes idle first. The cache keeps that end, so the hot path's one
// comparison covers both.
func (s *sessions) admit(c *claims, now time.Time) (int64, error) {
	end := c.ExpiresAt.Time.UnixNano()
	if s.idle > 0 {
		end = min(end, time.Unix(c.lastSeen(), 0).Add(s.idle).UnixNano())
		if now.UnixNano() >= end {
			return 0, errIdle
		}
	}
	if s.accept != nil {
		if err := s.accept(c); err != nil {
			return 0, err
		}
	}
	return end, nil
}

// renew is the token that slides v's idle_timeout forward, if it is due
// (renewEvery since lst), and how long its cookie should live. The new
// token keeps jti, iat and exp: revoking the session revokes every token
// of it, and the absolute limit session_ttl never moves. One renewal is
// made per verified token, however many requests carry it at once.
func (s *sessions) renew(v *verified) (string, time.Duration, bool) {
	now := s.now()
	if s.idle == 0 || now.Unix()-v.claims.lastSeen() < int64(renewEvery/time.Second) {
		return "", 0, false
	}
	left := v.claims.ExpiresAt.Time.Sub(now)
	if left <= 0 {
		return "", 0, false
	}
	if p := v.renewed.Load(); p != nil {
		return *p, left, true
	}
	c := *v.claims
	c.LastSeen = now.Unix()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &c).SignedString(s.key)
	if err != nil {
		return "", 0, false // the old token still works until it idles
	}
	v.renewed.CompareAndSwap(nil, &tok)
	return *v.renewed.Load(), left, true
}

// sessionFits runs the per-request rules on a verified session: with
// users_file, the user the first factor authenticated on this request is
// the session's; with bind_ip, the client IP is the one that verified.
// Both are string comparisons that allocate nothing.
func (h *Handler) sessionFits(r *http.Request, v *verified) bool {
	if h.users != nil && h.firstFactorUser(r) != v.claims.User {
		return false
	}
	if h.BindIP && clientIP(r) != v.claims.IP {
		return false
	}
	return true
}

// acceptSession is sessions.accept: a session is good only while the
// handler's own rules admit its phone (allow, allow_file and countries,
// the rules a send obeys) and, with users_file, only for a user still
// listed with that phone. The verified-session cache is per config, so a
// `caddy reload` that narrows the rules, drops a user or changes their
// phone cuts the sessions concerned at once, at no cost to a cache hit.
func (h *Handler) acceptSession(c *claims) error {
	if !h.flow.Policy.Permits(c.Subject) {
		return errNotAdmitted
	}
	if h.users != nil && (c.User == "" || h.users[c.User] != c.Subject) {
		return errOtherClient
	}
	return nil
}

// renewCookie re-issues the session cookie when idle_timeout is due to
// slide (see sessions.renew).
func (h *Handler) renewCookie(w http.ResponseWriter, r *http.Request, v *verified) {
	if tok, left, ok := h.sessions.renew(v); ok {
		h.setCookie(w, r, h.CookieName, tok, "/", left, http.SameSiteLaxMode)
	}
}
