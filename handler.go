package caddyotp

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

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

	c, err := h.sessionFromRequest(r)
	switch {
	case err == nil:
		r.Header.Set(h.Header, c.Subject)
		repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		if repl != nil {
			if id, _ := repl.GetString("http.auth.user.id"); id == "" {
				repl.Set("http.auth.user.id", c.Subject)
			}
			repl.Set("http.auth.user.phone", c.Subject)
		}
		h.stripOwnCookies(r)
		return next.ServeHTTP(w, r)
	case isStoreError(err):
		// Fail closed: a session we cannot check for revocation is not
		// passed through. DEBUG only: the store logs each outage once,
		// rather than once per request.
		h.logger.Debug("cannot check session revocation", zap.Error(err))
		writeRefusalJSON(w, refuse(kindUnavailable), nil)
		return nil
	}
	h.loginRequired(w, r)
	return nil
}

// loginRequired sends a browser to the phone page and tells anything else,
// with 401, where to log in.
func (h *Handler) loginRequired(w http.ResponseWriter, r *http.Request) {
	login := h.Prefix + "/"
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html") {
		noStore(w)
		http.Redirect(w, r, login+"?return="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	writeRefusalJSON(w, refuse(kindLoginRequired), map[string]any{"login": login})
}

// ownPath reports whether path is under the prefix, and the rest of it.
func (h *Handler) ownPath(path string) (string, bool) {
	if !strings.HasPrefix(path, h.Prefix) {
		return "", false
	}
	rest := path[len(h.Prefix):]
	if rest != "" && rest[0] != '/' {
		return "", false // e.g. /_otpfoo is the site's, not ours
	}
	return rest, true
}

// sessionFromRequest returns the claims of the request's session cookie.
func (h *Handler) sessionFromRequest(r *http.Request) (*claims, error) {
	ck, err := r.Cookie(h.CookieName)
	if err != nil {
		return nil, err
	}
	return h.sessions.check(r.Context(), ck.Value)
}

// isStoreError tells a store failure from an invalid or missing session.
func isStoreError(err error) bool {
	var se *storeError
	return errors.As(err, &se)
}

// stripIdentityHeader removes every client-sent copy of the identity
// header. Besides Go's canonical form it matches any casing and '_' or '.'
// for '-': some upstreams (PHP, CGI, nginx with underscores_in_headers)
// fold all three to one, so X_Verified_Phone would pass for the real one.
// (Caddy itself drops '_' and '.' headers unless told not to.)
func (h *Handler) stripIdentityHeader(r *http.Request) {
	for name := range r.Header {
		if sameHeaderName(name, h.Header) {
			delete(r.Header, name)
		}
	}
}

func sameHeaderName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := lowerDash(a[i]), lowerDash(b[i])
		if ca != cb {
			return false
		}
	}
	return true
}

func lowerDash(c byte) byte {
	switch {
	case c == '_' || c == '.':
		return '-'
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	}
	return c
}

// stripOwnCookies keeps the session token away from the upstream app: it
// does not need it, and a token in an app's logs is a token to replay.
func (h *Handler) stripOwnCookies(r *http.Request) {
	cookies := r.Header["Cookie"]
	if len(cookies) == 0 {
		return
	}
	kept := cookies[:0]
	for _, line := range cookies {
		if !strings.Contains(line, h.CookieName) {
			kept = append(kept, line)
			continue
		}
		var b strings.Builder
		for part := range strings.SplitSeq(line, ";") {
			// Trimmed as net/http trims it: "otp_session =tok" is read
			// as the session cookie, so it must be stripped as one.
			name, _, _ := strings.Cut(part, "=")
			name = strings.TrimSpace(name)
			if strings.HasPrefix(name, h.CookieName) && h.ownCookie(name) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(strings.TrimSpace(part))
		}
		if b.Len() > 0 {
			kept = append(kept, b.String())
		}
	}
	if len(kept) == 0 {
		r.Header.Del("Cookie")
	} else {
		r.Header["Cookie"] = kept
	}
}

func (h *Handler) ownCookie(name string) bool {
	return name == h.CookieName || name == h.challengeCookie() || name == h.csrfCookie()
}

func (h *Handler) challengeCookie() string { return h.CookieName + "_challenge" }
func (h *Handler) csrfCookie() string      { return h.CookieName + "_csrf" }

// Interface guard
var _ caddyhttp.MiddlewareHandler = (*Handler)(nil)
