package caddyotp

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/session"
)

// Forward auth (docs/forward-auth.md): another proxy (nginx auth_request,
// Traefik forwardAuth, HAProxy, Caddy's forward_auth) asks {prefix}/auth
// about each request it holds, and passes it on only on a 2xx, copying the
// identity headers of the answer onto it. The login pages stay phone_otp's
// own, reached through that proxy under the app's host.

// userHeader carries, with users_file, the first-factor user of the
// session on a forward-auth answer, beside `header`'s phone.
const userHeader = "X-Verified-User"

// redirectHeader, set to 1 by the proxy, asks for a 302 to the login page
// instead of a 401, as does an `rd` query parameter.
const redirectHeader = "X-Phone-Otp-Redirect"

// forwardAuth answers a proxy's auth request: 200 with the verified phone
// in `header` (and the user in userHeader) when the request carries a
// session that ServeHTTP would pass; else 401, or 302 when the proxy asks
// for a redirect, with Location the login page and the original URL as
// its return. A store that cannot be asked fails closed with 503. The
// answers carry no body a proxy could pass on that tells more than that.
func (h *Handler) forwardAuth(w http.ResponseWriter, r *http.Request) {
	v, err := h.requestSession(w, r)
	switch {
	case err == nil:
		hd := w.Header()
		noStore(w)
		hd[h.headerKey] = ownValue(v.Claims.Subject)
		if v.Claims.User != "" {
			hd[userHeader] = ownValue(v.Claims.User)
		}
		w.WriteHeader(http.StatusOK)
		return
	case session.IsStoreError(err):
		h.logger.Debug("cannot check session revocation", zap.Error(err))
		writeRefusalJSON(w, refuse(kindUnavailable), "")
		return
	}
	// Floods of visitors without a session take this path: the query is
	// parsed only when there is one.
	var rd string
	var hasRD bool
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		rd, hasRD = q.Get("rd"), q.Has("rd")
	}
	w.Header()["Location"] = ownValue(h.forwardLogin(r, rd))
	if hasRD || r.Header.Get(redirectHeader) == "1" {
		noStore(w)
		w.WriteHeader(http.StatusFound)
		return
	}
	// nginx's auth_request takes a 401 (anything else but 2xx and 403 is
	// an error to it); its error_page then redirects to this Location.
	writeRefusalJSON(w, refLoginRequired, h.Prefix+"/")
}

// forwardLogin is the login page for the request a proxy asks about, with
// that request's path and query as the return. Only a proxy in Caddy's
// trusted_proxies names that request (X-Forwarded-Uri, X-Original-URI,
// X-Forwarded-Host, X-Forwarded-Proto); from any other client these
// headers change nothing. rd, the `rd` query parameter that the proxy's
// own config writes, names the return instead: a same-site path, or a URL
// on the original scheme and host. Every return passes safeReturn. The
// page is a path on the host the visitor asked for, made absolute only
// when a trusted proxy said what host that is (Traefik resolves a
// relative Location against the auth address, not the app's).
func (h *Handler) forwardLogin(r *http.Request, rd string) string {
	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	scheme := "http"
	if h.isHTTPS(r) {
		scheme = "https"
	}
	host, base := r.Host, ""
	ret := "/"
	if trusted {
		if fh := lastForwarded(r.Header, "X-Forwarded-Host"); fh != "" && validHostPort(fh) {
			host, base = fh, scheme+"://"+fh
		}
		uri := lastValue(r.Header, "X-Forwarded-Uri")
		if uri == "" {
			uri = lastValue(r.Header, "X-Original-Uri")
		}
		ret = safeReturn(uri)
	}
	if rd != "" {
		ret = returnFromURL(rd, scheme, host)
	}
	return base + h.Prefix + "/?return=" + url.QueryEscape(ret)
}

// returnFromURL is rd as a return path: a relative one as safeReturn
// takes it, an absolute one only on scheme and host, else "/".
func returnFromURL(rd, scheme, host string) string {
	if strings.HasPrefix(rd, "/") {
		return safeReturn(rd)
	}
	u, err := url.Parse(rd)
	if err != nil || u.User != nil || !strings.EqualFold(u.Scheme, scheme) || !strings.EqualFold(u.Host, host) {
		return "/"
	}
	return safeReturn(u.RequestURI())
}

// lastValue is the last line of a header: the one the nearest proxy set
// or added.
func lastValue(hdr http.Header, name string) string {
	vals := hdr.Values(name)
	if len(vals) == 0 {
		return ""
	}
	return vals[len(vals)-1]
}

// lastForwarded is the last element of a comma-separated X-Forwarded-*
// header, as isHTTPS reads X-Forwarded-Proto.
func lastForwarded(hdr http.Header, name string) string {
	last := lastValue(hdr, name)
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}

// validHostPort accepts a Host header's worth of name, IP literal and
// port, so that nothing else is written into a Location.
func validHostPort(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	if s[0] == '.' || s[0] == '-' || s[0] == ':' {
		return false
	}
	// Brackets only around an IPv6 literal, a port only of digits: as a
	// URL's host, so the Location is one a browser can follow ("[" alone
	// made "http://[/_otp/", found by FuzzForwardAuth).
	u, err := url.Parse("http://" + s + "/")
	if err != nil || u.Host != s || u.Path != "/" || u.User != nil {
		return false
	}
	if strings.ContainsAny(s, "[]") {
		ip, err := netip.ParseAddr(u.Hostname())
		return s[0] == '[' && err == nil && ip.Is6()
	}
	return true
}
