package caddyotp

import (
	"net/http"
	"strings"
	"time"
)

// setCookie sets one of phone_otp's cookies: HttpOnly, and Secure when the
// browser reaches us over HTTPS (isHTTPS). Only the session cookie takes
// cookie_domain, as it is the one the domain's other hosts must read.
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

// clearCookie expires a cookie setCookie set; the path and domain are
// the ones it was set with, or the browser keeps it.
func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request, name, path string) {
	ck := &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true, Secure: h.isHTTPS(r)}
	if name == h.CookieName {
		ck.Domain = h.CookieDomain
	}
	http.SetCookie(w, ck)
}

// cookieValue finds the first cookie called name in Cookie header lines,
// without the allocations of parsing them all (http.Request.Cookie). The
// value is only used as a lookup key and then fully verified, so this
// does not need to validate it.
func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				val := strings.TrimRight(part[len(name)+1:], " \t")
				if len(val) > 1 && val[0] == '"' && val[len(val)-1] == '"' {
					val = val[1 : len(val)-1]
				}
				return val, true
			}
		}
	}
	return "", false
}

// stripOwnCookies keeps the session token away from the upstream app: it
// does not need it, and a token in an app's logs is a token to replay.
// A line holding only our cookies is dropped without building a new one.
func (h *Handler) stripOwnCookies(r *http.Request) {
	lines := r.Header["Cookie"]
	kept := lines[:0]
	for _, line := range lines {
		own, other := 0, 0
		for rest := line; len(rest) > 0; {
			var part string
			part, rest, _ = strings.Cut(rest, ";")
			if h.ownCookie(cookieName(part)) {
				own++
			} else if strings.TrimSpace(part) != "" {
				other++
			}
		}
		switch {
		case own == 0:
			kept = append(kept, line)
		case other > 0:
			var b strings.Builder
			for part := range strings.SplitSeq(line, ";") {
				if h.ownCookie(cookieName(part)) || strings.TrimSpace(part) == "" {
					continue
				}
				if b.Len() > 0 {
					b.WriteString("; ")
				}
				b.WriteString(strings.TrimSpace(part))
			}
			kept = append(kept, b.String())
		}
	}
	if len(kept) == 0 {
		delete(r.Header, "Cookie")
	} else {
		r.Header["Cookie"] = kept
	}
}

// cookieName is the trimmed name of one "name=value" part of a Cookie line.
func cookieName(part string) string {
	name, _, _ := strings.Cut(part, "=")
	return strings.TrimSpace(name)
}

// ownCookie reports whether name is one of phone_otp's cookies: the
// session's name, alone or with _challenge, _csrf or _device after it.
func (h *Handler) ownCookie(name string) bool {
	rest, ok := strings.CutPrefix(name, h.CookieName)
	if !ok {
		return false
	}
	switch rest {
	case "", "_challenge", "_csrf", "_device":
		return true
	}
	return false
}

// The cookies beside the session's take its name, so that ownCookie knows
// them all from cookie_name alone.
func (h *Handler) challengeCookie() string { return h.CookieName + "_challenge" }
func (h *Handler) csrfCookie() string      { return h.CookieName + "_csrf" }
func (h *Handler) deviceCookie() string    { return h.CookieName + "_device" }
