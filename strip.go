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
