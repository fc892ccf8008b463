package caddyotp

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(StripHeader{})
}

// StripHeader removes every client-sent copy of phone_otp's identity
// header, in every spelling phone_otp itself removes, and does nothing
// else. The Caddyfile directive `phone_otp <matcher>` puts it on the
// requests outside the matcher, which phone_otp never sees, so that a
// client-sent header never reaches the app on any request of the site.
type StripHeader struct {
	// The identity header, as in phone_otp's `header`. Default:
	// `X-Verified-Phone`.
	Header string `json:"header,omitempty"`

	identityMark string
}

// CaddyModule returns the Caddy module information.
func (StripHeader) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.phone_otp_strip",
		New: func() caddy.Module { return new(StripHeader) },
	}
}

// Provision resolves placeholders and sets the default.
func (s *StripHeader) Provision(caddy.Context) error {
	s.Header = caddy.NewReplacer().ReplaceKnown(s.Header, "")
	if s.Header == "" {
		s.Header = defaultHeader
	}
	s.identityMark = identityMark(s.Header)
	return checkToken(s.Header)
}

// ServeHTTP strips the header unless a phone_otp handler of the site has
// set it on this request (see identityMark): then the only copy left is
// the one that handler verified.
func (s *StripHeader) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !markedIdentity(r, s.identityMark) {
		stripHeader(r.Header, s.Header)
	}
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*StripHeader)(nil)
	_ caddyhttp.MiddlewareHandler = (*StripHeader)(nil)
)

// markedIdentity reports whether a phone_otp handler set the identity
// header of mark on r (see identityMark).
func markedIdentity(r *http.Request, mark string) bool {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return false
	}
	set, _ := repl.Get(mark)
	return set == true
}

// stripIdentityHeader removes every client-sent copy of the identity
// header. Besides Go's canonical form it matches any casing and '_' or '.'
// for '-': some upstreams (PHP, CGI, nginx with underscores_in_headers)
// fold all three to one, so X_Verified_Phone would pass for the real one.
// (Caddy itself drops '_' and '.' headers unless told not to.)
func (h *Handler) stripIdentityHeader(r *http.Request) {
	stripHeader(r.Header, h.Header)
}

// stripHeader removes every spelling of name from hdr (see
// stripIdentityHeader). StripHeader uses it outside the matcher.
func stripHeader(hdr http.Header, name string) {
	for n := range hdr {
		if sameHeaderName(n, name) {
			delete(hdr, n)
		}
	}
}

// identityMark is the placeholder that says a phone_otp handler set the
// identity header name on this request, after stripping every client
// copy of it: the verified session's placeholders answer it (so marking a
// request costs nothing more than the placeholders themselves). A strip
// route of another handler on the site (phone_otp @a and phone_otp @b: the
// route outside @b takes the requests of @a) must leave that value alone;
// it still strips requests no handler vouched for. Header names that fold
// alike (sameHeaderName) share the mark; clients cannot set placeholders.
func identityMark(name string) string {
	b := []byte("phone_otp.identity:" + name)
	for i := len("phone_otp.identity:"); i < len(b); i++ {
		b[i] = lowerDash(b[i])
	}
	return string(b)
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
