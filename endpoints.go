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
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/internal/session"
)

// challenge is the flow's challenge, as the handlers sign it into the
// challenge cookie and read it back.
type challenge = flow.Challenge

// randomID and idLen are the flow's ids, used for sessions and nonces too.
func randomID() string { return flow.RandomID() }

const idLen = flow.IDLen

// maxBody is the largest request body the endpoints read.
const maxBody = 8 << 10

// maxReturn bounds a return path; longer ones fall back to "/".
const maxReturn = 2048

// serveOwn serves the pages and API under the prefix. rest is the path
// after the prefix.
func (h *Handler) serveOwn(w http.ResponseWriter, r *http.Request, rest string) {
	type route struct {
		get  func(http.ResponseWriter, *http.Request)
		post func(http.ResponseWriter, *http.Request, *input)
	}
	var rt route
	switch rest {
	case "", "/":
		rt = route{get: h.phonePage}
	case "/send":
		rt = route{post: h.send}
	case "/verify":
		rt = route{get: h.verifyPage, post: h.verify}
	case "/resend":
		rt = route{post: h.resend}
	case "/session":
		rt = route{get: h.session}
	case "/logout":
		rt = route{get: h.logoutPage, post: h.logout}
	default:
		h.refuse(w, r, false, refuse(kindNotFound))
		return
	}
	switch {
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && rt.get != nil:
		rt.get(w, r)
	case r.Method == http.MethodPost && rt.post != nil:
		if rest == "/send" {
			if ref, refused := h.flow.IPRefused(r.Context(), clientIP(r)); refused {
				h.audit.ipRefusedAgain()
				h.refuse(w, r, isForm(r), fromFlow(&ref))
				return
			}
		}
		in, ref := h.readInput(w, r)
		if ref != nil {
			h.refuse(w, r, in != nil && in.form, ref)
			return
		}
		rt.post(w, r, in)
	default:
		allow := []string{}
		if rt.get != nil {
			allow = append(allow, "GET", "HEAD")
		}
		if rt.post != nil {
			allow = append(allow, "POST")
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.refuse(w, r, false, refuse(kindMethodNotAllowed))
	}
}

// input is a POST body, from a form or JSON alike.
type input struct {
	form    bool
	Phone   string `json:"phone"`
	Country string `json:"country"`
	Code    string `json:"code"`
	Return  string `json:"return"`
	csrf    string

	Remember bool `json:"remember"` // verify: trust this browser (remember_device)
	Forget   bool `json:"forget"`   // logout: forget this browser
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
		in.Remember, in.Forget = vals.Get("remember") != "", vals.Get("forget") != ""
		ck, _ := r.Cookie(h.csrfCookie())
		if ck == nil || !session.ValidCSRF(h.keys.CSRF, ck.Value, in.csrf) {
			return in, refuse(kindForbidden)
		}
	} else if len(bytes.TrimSpace(body)) > 0 {
		// An empty JSON body is an empty object: a logout needs no fields.
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(in); err != nil || dec.More() {
			return in, refuse(kindInvalidRequest)
		}
	}
	if r.URL.Query().Has("return") && in.Return == "" {
		in.Return = r.URL.Query().Get("return")
	}
	return in, nil
}

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

func (h *Handler) send(w http.ResponseWriter, r *http.Request, in *input) {
	if h.users != nil {
		// The phone is the listed one; whatever the client sent is ignored.
		_, phone, ref := h.userPhone(r)
		if ref != nil {
			h.refuse(w, r, in.form, ref, in)
			return
		}
		h.sendCode(w, r, in, phone, safeReturn(in.Return), h.Prefix+"/verify")
		return
	}
	region := h.region
	if in.Country != "" {
		if phone.CheckCountry(in.Country) != nil {
			h.refuse(w, r, in.form, refuse(kindInvalidPhone), in)
			return
		}
		region = in.Country
	}
	phone, err := phone.Parse(in.Phone, region)
	if err != nil {
		// What was typed is not logged: it may be a phone number all the same.
		h.audit.send(r, "", challenge{}, false, refuse(kindInvalidPhone))
		h.refuse(w, r, in.form, refuse(kindInvalidPhone), in)
		return
	}
	h.sendCode(w, r, in, phone, safeReturn(in.Return), h.Prefix+"/verify")
}

// sendCode sends a code to phone and answers: JSON, or for forms a
// redirect to next (the code page).
func (h *Handler) sendCode(w http.ResponseWriter, r *http.Request, in *input, phone, ret, next string) {
	host, ok := h.smsHost(r)
	if !ok {
		// Nothing is sent for a Host nobody configured (see origin.go).
		h.audit.send(r, phone, challenge{}, false, refuse(kindUnknownHost))
		h.refuse(w, r, in.form, refuse(kindUnknownHost), in)
		return
	}
	sent, err := h.flow.Send(r.Context(), phone, clientIP(r), host)
	if err != nil {
		ref := asRefusal(err)
		h.audit.send(r, phone, sent.Challenge, false, ref)
		h.refuse(w, r, in.form, ref, in)
		return
	}
	h.audit.send(r, phone, sent.Challenge, sent.Withheld, nil)
	ch := sent.Challenge
	tok, err := h.chTokens.Sign(session.Challenge{ID: ch.ID, Phone: ch.Phone, Expires: ch.Expires}, ret)
	if err != nil {
		h.refuse(w, r, in.form, unavailable("sign", err), in)
		return
	}
	// The challenge cookie outlives the code a little, so that a late
	// visitor is told "expired" rather than "start again".
	h.setCookie(w, r, h.challengeCookie(), tok, h.Prefix, ch.Expires.Sub(h.now())+challengeGrace, http.SameSiteStrictMode)
	if in.form {
		noStore(w)
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":       "sent",
		"expires_in":   seconds(time.Duration(h.CodeTTL)),
		"resend_after": seconds(time.Duration(h.ResendAfter)),
	})
}

// challengeGrace is how long the challenge cookie outlives its code.
const challengeGrace = 15 * time.Minute

// challengeFromRequest reads the challenge cookie. An expired one is told
// apart from a missing or forged one.
func (h *Handler) challengeFromRequest(r *http.Request) (challenge, string, *refusal) {
	return h.readChallenge(r, h.chTokens.Parse)
}

// readChallenge reads the challenge cookie with parse (ChallengeTokens'
// Parse or ParseLate).
func (h *Handler) readChallenge(r *http.Request, parse func(string) (session.Challenge, string, error)) (challenge, string, *refusal) {
	ck, err := r.Cookie(h.challengeCookie())
	if err != nil {
		return challenge{}, "", refuse(kindInvalidRequest)
	}
	ch, ret, err := parse(ck.Value)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return challenge{}, "", refuse(kindExpired)
	}
	if err != nil {
		return challenge{}, "", refuse(kindInvalidRequest)
	}
	return challenge{ID: ch.ID, Phone: ch.Phone, Expires: ch.Expires}, ret, nil
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request, in *input) {
	ch, ret, ref := h.challengeFromRequest(r)
	if ref != nil {
		h.audit.verify(r, "", nil, ref)
		h.refuse(w, r, in.form, ref, in)
		return
	}
	user, ref := h.challengeUser(r, ch)
	if ref != nil {
		h.refuse(w, r, in.form, ref, in)
		return
	}
	code := normalizeCode(in.Code)
	if err := h.flow.Verify(r.Context(), ch, code); err != nil {
		ref := asRefusal(err)
		h.audit.verify(r, ch.Phone, nil, ref)
		h.refuse(w, r, in.form, ref, in)
		return
	}
	tok, c, err := h.sessions.Issue(ch.Phone, user, h.boundIP(r))
	if err != nil {
		h.audit.verify(r, ch.Phone, nil, unavailable("sign", err))
		h.refuse(w, r, in.form, unavailable("sign", err), in)
		return
	}
	h.audit.verify(r, ch.Phone, c, nil)
	h.setCookie(w, r, h.CookieName, tok, "/", time.Duration(h.SessionTTL), http.SameSiteLaxMode)
	h.clearCookie(w, r, h.challengeCookie(), h.Prefix)
	h.rememberDevice(w, r, in, user, ch.Phone)
	if in.form {
		noStore(w)
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "verified", "return": ret})
}

func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	c, err := h.sessionFromRequest(r)
	if session.IsStoreError(err) {
		writeRefusalJSON(w, refuse(kindUnavailable), "")
		return
	}
	if err != nil {
		writeRefusalJSON(w, refuse(kindLoginRequired), h.Prefix+"/")
		return
	}
	body := map[string]any{"phone": c.Subject, "expires_at": c.ExpiresAt.Unix()}
	if c.User != "" {
		body["user"] = c.User
	}
	writeJSON(w, http.StatusOK, body)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, in *input) {
	h.clearCookie(w, r, h.CookieName, "/")
	if in.Forget {
		if err := h.forgetDevice(w, r); err != nil {
			h.audit.logout(r, nil, err)
			h.refuse(w, r, in.form, unavailable("revoke", err), in)
			return
		}
	}
	var c *session.Claims
	ck, err := r.Cookie(h.CookieName)
	if err == nil {
		c, _ = h.sessions.Parse(ck.Value)
	}
	if c != nil {
		if err := h.sessions.Revoke(r.Context(), ck.Value, c); err != nil {
			// The cookie is cleared, but the token would still pass
			// elsewhere: say so rather than pretend.
			h.audit.logout(r, c, err)
			h.refuse(w, r, in.form, unavailable("revoke", err), in)
			return
		}
	}
	h.audit.logout(r, c, nil)
	if in.form {
		noStore(w)
		http.Redirect(w, r, h.Prefix+"/", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "logged_out"})
}

// refuse answers a refusal in kind: a page for forms, JSON otherwise.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, form bool, ref *refusal, in ...*input) {
	if !form {
		writeRefusalJSON(w, ref, "")
		return
	}
	var typed *input
	if len(in) > 0 {
		typed = in[0]
	}
	h.refusalPage(w, r, ref, typed)
}

// asRefusal turns any error into a refusal: the flow's become the HTTP
// layer's; anything unexpected fails closed.
func asRefusal(err error) *refusal {
	var ref *refusal
	if errors.As(err, &ref) {
		return ref
	}
	var fr *flow.Refusal
	if errors.As(err, &fr) {
		return fromFlow(fr)
	}
	return &refusal{kind: kindUnavailable, err: err}
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, ttl time.Duration, same http.SameSite) {
	ck := &http.Cookie{
		Name: name, Value: value, Path: path,
		MaxAge: int(ttl / time.Second), HttpOnly: true, SameSite: same,
		Secure: h.isHTTPS(r),
	}
	if name == h.CookieName {
		ck.Domain = h.CookieDomain
	}
	http.SetCookie(w, ck)
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request, name, path string) {
	ck := &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true, Secure: h.isHTTPS(r)}
	if name == h.CookieName {
		ck.Domain = h.CookieDomain
	}
	http.SetCookie(w, ck)
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
