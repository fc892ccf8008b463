package caddyotp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyserver/caddy/v2"
)

// users is the users_file (read by phone.ReadUsersFile): each
// first-factor user's phone (E.164).
type users map[string]string

// defaultUserPlaceholder is where basic_auth (and every caddyauth
// provider) puts the user it authenticated.
const defaultUserPlaceholder = "{http.auth.user.id}"

// firstFactorUser is the user the earlier handler authenticated, "" if
// none. The usual `{name}` placeholder is read with one Get and no
// allocation, because the hot path asks on every request.
func (h *Handler) firstFactorUser(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	if h.userKey != "" {
		switch v, _ := repl.Get(h.userKey); v := v.(type) {
		case string:
			return v
		case nil:
			return ""
		default:
			return fmt.Sprint(v)
		}
	}
	return repl.ReplaceKnown(h.UserPlaceholder, "")
}

// userPhone is the first-factor user of r and their listed phone. A
// request with no authenticated user, or one not in users_file, is
// refused with 403: the second factor never asks the client for a phone.
func (h *Handler) userPhone(r *http.Request) (string, string, *refusal) {
	user := h.firstFactorUser(r)
	phone, ok := h.users[user]
	if user == "" || !ok {
		return "", "", refuse(kindUnknownUser)
	}
	return user, phone, nil
}

// placeholderKey is the name in a placeholder that is only "{name}", and
// "" for anything more complex.
func placeholderKey(p string) string {
	if len(p) > 2 && p[0] == '{' && p[len(p)-1] == '}' && !strings.ContainsAny(p[1:len(p)-1], "{}") {
		return p[1 : len(p)-1]
	}
	return ""
}

// challengeUser is, with users_file, the first-factor user of r, who must
// be the one whose listed phone the pending code went to: a challenge
// cookie carried over to another user's login is refused. Without
// users_file it is "".
func (h *Handler) challengeUser(r *http.Request, ch challenge) (string, *refusal) {
	if h.users == nil {
		return "", nil
	}
	user, phone, ref := h.userPhone(r)
	if ref != nil {
		return "", ref
	}
	if phone != ch.Phone {
		return "", refuse(kindUnknownUser)
	}
	return user, nil
}

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
