package caddyotp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/session"
)

// randomID and idLen are the flow's ids, used for sessions and nonces too.
func randomID() string { return flow.RandomID() }

const idLen = flow.IDLen

// maxBody is the largest request body the endpoints read.
const maxBody = 8 << 10

// maxReturn bounds a return path; longer ones fall back to "/".
const maxReturn = 2048

// input is a POST body, from a form or JSON alike.
type input struct {
	form    bool
	Phone   string `json:"phone"`
	Country string `json:"country"`
	Code    string `json:"code"`
	Return  string `json:"return"`
	csrf    string

	Channel  string `json:"channel"`  // send, resend: "" or "sms" for a text, "call" for a call (call.go)
	Remember bool   `json:"remember"` // verify: trust this browser (remember_device)
	Forget   bool   `json:"forget"`   // logout: forget this browser
}

// readInput reads and checks a POST body: its type, its size, and for
// forms the CSRF token. It returns in (with form set) even on refusal, so
// the refusal can be answered in kind.
func (h *Handler) readInput(w http.ResponseWriter, r *http.Request) (*input, *refusal) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, refuse(kindUnsupportedMedia)
	}
	in := &input{form: mt == "application/x-www-form-urlencoded"}
	if !in.form && mt != "application/json" {
		return nil, refuse(kindUnsupportedMedia)
	}
	if !h.sameOrigin(r) {
		return in, refuse(kindForbidden)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return in, refuse(kindTooLarge)
		}
		return in, refuse(kindInvalidRequest)
	}
	if in.form {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return in, refuse(kindInvalidRequest)
		}
		in.Phone, in.Country, in.Code = vals.Get("phone"), vals.Get("country"), vals.Get("code")
		in.Return, in.csrf = vals.Get("return"), vals.Get("csrf")
		in.Remember, in.Forget, in.Channel = vals.Get("remember") != "", vals.Get("forget") != "", vals.Get("channel")
		ck, _ := r.Cookie(h.csrfCookie())
		if ck == nil || !session.ValidCSRF(h.keys.CSRF, ck.Value, in.csrf) {
			return in, refuse(kindForbidden)
		}
	} else if len(bytes.TrimSpace(body)) > 0 {
		// An empty JSON body is an empty object: a logout needs no fields.
		if err := decodeJSON(body, in, false); err != nil {
			return in, refuse(kindInvalidRequest)
		}
	}
	if r.URL.Query().Has("return") && in.Return == "" {
		in.Return = r.URL.Query().Get("return")
	}
	return in, nil
}

// decodeJSON decodes body, which must be exactly one JSON value, into v;
// strict refuses fields v does not have. Anything after the value but
// white space (a second value, a stray '}' or ']', garbage) is refused: a
// body that another parser on the way (a proxy, a firewall, a log) could
// read differently must not be acted on. json.Decoder stops after one
// value, and its More is false before a '}' or ']', so the rest is read
// as a token, which only the end of the body leaves at io.EOF. The
// public API and the admin API both decode with it.
func decodeJSON(body []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// isForm reports whether r's body is a form: for an answer given before
// the body is read.
func isForm(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// sameOrigin checks Sec-Fetch-Site, Origin, or failing those Referer,
// when the browser sent them: a POST from another site's page is refused
// even before the token. Our pages are sent with Referrer-Policy:
// no-referrer, so their own forms come with "Origin: null" and no Referer;
// Sec-Fetch-Site (every current browser) still says where they came from,
// and the CSRF token and its SameSite=Strict cookie guard the rest. The
// origin expected is https:// when the browser reaches us over HTTPS,
// through a trusted proxy included (isHTTPS).
func (h *Handler) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	scheme := "http"
	if h.isHTTPS(r) {
		scheme = "https"
	}
	want := scheme + "://" + r.Host
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return strings.EqualFold(o, want)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && strings.EqualFold(u.Scheme+"://"+u.Host, want)
	}
	return true
}

// safeReturn keeps return targets to same-site relative paths: "/x?y".
// Anything that a browser could read as another origin ("//evil",
// "/\evil", "https:", control characters) falls back to "/".
func safeReturn(s string) string {
	if s == "" || len(s) > maxReturn || s[0] != '/' {
		return "/"
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return s
}

// The values of cookie_secure.
const (
	cookieSecureAuto   = "auto"
	cookieSecureAlways = "always"
)

// isHTTPS reports whether the visitor's browser reaches the site over
// HTTPS, for Secure cookies and the same-origin check: the request came
// over TLS, or cookie_secure is always, or it came from a proxy in
// Caddy's trusted_proxies whose X-Forwarded-Proto says https. Only the
// last value counts, as in Caddy's reverse_proxy: the one the nearest,
// trusted, proxy wrote or vouched for. From any other client the header
// is the client's say-so and changes nothing.
func (h *Handler) isHTTPS(r *http.Request) bool {
	if r.TLS != nil || h.CookieSecure == cookieSecureAlways {
		return true
	}
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); !trusted {
		return false
	}
	vals := r.Header.Values("X-Forwarded-Proto")
	if len(vals) == 0 {
		return false
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}

// clientIP is Caddy's idea of the client's address, which honours
// trusted_proxies.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func hostOnly(hostport string) string {
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	return hostport
}

// normalizeCode drops the spaces and dashes a visitor may paste with a
// code ("123 456", "123-456").
func normalizeCode(s string) string {
	return strings.Map(func(c rune) rune {
		if c == ' ' || c == '-' || c == '\t' {
			return -1
		}
		return c
	}, s)
}
