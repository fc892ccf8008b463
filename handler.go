package caddyotp

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// ServeHTTP passes requests with a valid session on to next, with the
// verified phone in h.Header, and sends all others to the login pages.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	h.stripIdentityHeader(r)
	if rest, ok := h.ownPath(r.URL.Path); ok {
		h.serveOwn(w, r, rest)
		return nil
	}

	v, err := h.requestSession(w, r)
	switch {
	case err == nil:
		// Stripped above in every spelling; set in canonical form, in a
		// slice of this request's own (see ownValue).
		r.Header[h.headerKey] = ownValue(v.Claims.Subject)
		repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		if repl != nil {
			repl.Map(v.Placeholders)
		}
		h.stripOwnCookies(r)
		err := next.ServeHTTP(w, r)
		if repl != nil && accessLogged(r) {
			// Caddy's access log writes {http.auth.user.id} as user_id
			// once the response is done; by then the app has the phone,
			// and the log gets it masked, as every log line does. (A
			// static value set now wins over the provider.)
			if id, _ := repl.Get("http.auth.user.id"); id == v.Phone {
				repl.Set("http.auth.user.id", v.Masked)
			}
			repl.Set("http.auth.user.phone", v.Masked)
		}
		return err
	case session.IsStoreError(err):
		// Fail closed: a session we cannot check for revocation is not
		// passed through. DEBUG only: the store logs each outage once,
		// rather than once per request.
		h.logger.Debug("cannot check session revocation", zap.Error(err))
		writeRefusalJSON(w, refuse(kindUnavailable), "")
		return nil
	}
	h.loginRequired(w, r)
	return nil
}

var refLoginRequired = refuse(kindLoginRequired)

// accessLogged reports whether the server writes access logs, the one
// reader of the user placeholders after the response.
func accessLogged(r *http.Request) bool {
	srv, _ := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	return srv == nil || srv.Logs != nil
}

// loginRequired sends a browser to the phone page and tells anything else,
// with 401, where to log in. Floods of visitors with no session take this
// path, so it writes its few headers directly.
func (h *Handler) loginRequired(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html") {
		// The URI the browser asked for, before any rewrite by Caddy.
		uri := r.RequestURI
		if uri == "" || uri[0] != '/' {
			uri = r.URL.RequestURI()
		}
		noStore(w)
		w.Header()["Location"] = []string{h.Prefix + "/?return=" + url.QueryEscape(uri)}
		w.WriteHeader(http.StatusFound)
		return
	}
	writeRefusalJSON(w, refLoginRequired, h.Prefix+"/")
}

// requestSession is the request's session under every rule of the
// handler: signature, domain (aud), revocation and the config's rules
// (verifiedSession), the first-factor user and bind_ip (sessionFits), a
// remembered device standing in for a missing one, and idle_timeout's
// sliding cookie. ServeHTTP and the forward-auth endpoint both ask it,
// so a session passes the one exactly when it passes the other.
func (h *Handler) requestSession(w http.ResponseWriter, r *http.Request) (*session.Verified, error) {
	v, err := h.verifiedSession(r)
	if err == nil && !h.sessionFits(r, v) {
		err = session.ErrOtherClient
	}
	if err != nil && h.devices != nil && !session.IsStoreError(err) {
		v, err = h.deviceSession(w, r, err)
	}
	if err == nil && h.sessions.Idle > 0 {
		h.renewCookie(w, r, v)
	}
	return v, err
}

// sessionFromRequest returns the claims of the request's session cookie.
func (h *Handler) sessionFromRequest(r *http.Request) (*session.Claims, error) {
	v, err := h.verifiedSession(r)
	if err != nil {
		return nil, err
	}
	if !h.sessionFits(r, v) {
		return nil, session.ErrOtherClient
	}
	return v.Claims, nil
}

var errNoSession = errors.New("no session cookie")

func (h *Handler) verifiedSession(r *http.Request) (*session.Verified, error) {
	token, ok := cookieValue(r.Header["Cookie"], h.CookieName)
	if !ok {
		return nil, errNoSession
	}
	return h.sessions.Lookup(r.Context(), token)
}

// renewCookie re-issues the session cookie when idle_timeout is due to
// slide (see session.Sessions.Renew).
func (h *Handler) renewCookie(w http.ResponseWriter, r *http.Request, v *session.Verified) {
	if tok, left, ok := h.sessions.Renew(v); ok {
		h.setCookie(w, r, h.CookieName, tok, "/", left, http.SameSiteLaxMode)
	}
}

// Interface guard
var _ caddyhttp.MiddlewareHandler = (*Handler)(nil)
