package caddyotp

import (
	"errors"
	"net/http"

	"github.com/caddyotp/caddyotp/internal/session"
)

var errNotAdmitted = errors.New("phone no longer admitted by allow, allow_file or countries")

// sessionFits runs the per-request rules on a verified session: with
// users_file, the user the first factor authenticated on this request is
// the session's; with bind_ip, the client IP is the one that verified.
// Both are string comparisons that allocate nothing.
func (h *Handler) sessionFits(r *http.Request, v *session.Verified) bool {
	if h.users != nil && h.firstFactorUser(r) != v.Claims.User {
		return false
	}
	if h.BindIP && clientIP(r) != v.Claims.IP {
		return false
	}
	return true
}

// acceptSession is session.Sessions.Accept: a session is good only while the
// handler's own rules admit its phone (allow, allow_file and countries,
// the rules a send obeys) and, with users_file, only for a user still
// listed with that phone. The verified-session cache is per config, so a
// `caddy reload` that narrows the rules, drops a user or changes their
// phone cuts the sessions concerned at once, at no cost to a cache hit.
func (h *Handler) acceptSession(c *session.Claims) error {
	if !h.flow.Policy.Permits(c.Subject) {
		return errNotAdmitted
	}
	if h.users != nil && (c.User == "" || h.users[c.User] != c.Subject) {
		return session.ErrOtherClient
	}
	return nil
}

// renewCookie re-issues the session cookie when idle_timeout is due to
// slide (see session.Sessions.Renew).
func (h *Handler) renewCookie(w http.ResponseWriter, r *http.Request, v *session.Verified) {
	if tok, left, ok := h.sessions.Renew(v); ok {
		h.setCookie(w, r, h.CookieName, tok, "/", left, http.SameSiteLaxMode)
	}
}
