package caddyotp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// These checks serve both Provision (JSON configs) and the Caddyfile
// parser, which reports them with the file and line of the option.

func checkIntRange(n, lo, hi int) error {
	if n < lo || (hi > 0 && n > hi) {
		if hi > 0 {
			return fmt.Errorf("%d is out of range (%d to %d)", n, lo, hi)
		}
		return fmt.Errorf("%d is out of range (at least %d)", n, lo)
	}
	return nil
}

func checkDurRange(d, lo, hi time.Duration) error {
	if d < lo || (hi > 0 && d > hi) {
		if hi > 0 {
			return fmt.Errorf("%s is out of range (%s to %s)", d, lo, hi)
		}
		return fmt.Errorf("%s is out of range (at least %s)", d, lo)
	}
	return nil
}

func checkNonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func checkToken(s string) error {
	if !httpguts.ValidHeaderFieldName(s) {
		return fmt.Errorf("%q is not a valid name", s)
	}
	return nil
}

func checkCookieDomain(s string) error {
	if s == "" {
		return nil
	}
	c := &http.Cookie{Name: "x", Value: "x", Domain: s}
	if c.Valid() != nil || strings.ContainsAny(s, " ;,") {
		return fmt.Errorf("%q is not a valid cookie domain", s)
	}
	return nil
}

func checkCookieSecure(s string) error {
	if s != cookieSecureAuto && s != cookieSecureAlways {
		return fmt.Errorf("%q is neither %s nor %s", s, cookieSecureAuto, cookieSecureAlways)
	}
	return nil
}

// checkSecret is run after placeholders are resolved; "" means "generate".
func checkSecret(s string) error {
	if s != "" && len(s) < minSecretLen {
		return fmt.Errorf("must be at least %d bytes (it has %d); `caddy phone-otp secret` or `openssl rand -base64 48` makes one", minSecretLen, len(s))
	}
	return nil
}

func checkPrefix(p string) error {
	if !strings.HasPrefix(p, "/") || p == "/" || strings.HasSuffix(p, "/") ||
		strings.ContainsAny(p, " ?#%\\") || strings.Contains(p, "//") || strings.Contains(p, "/.") {
		return fmt.Errorf("%q must be a clean path like /_otp", p)
	}
	return nil
}

func checkMessage(m string) error {
	if !strings.Contains(m, "{code}") {
		return errors.New("must contain {code}")
	}
	if len(m) > 480 {
		return errors.New("is longer than three SMS parts")
	}
	return nil
}

// checkOptionalDur is checkDurRange for options where 0 means off.
func checkOptionalDur(d, lo time.Duration) error {
	if d == 0 {
		return nil
	}
	return checkDurRange(d, lo, 0)
}

// checkRealm: "" is none; a name is what a realm can be told by, and never
// holds the ':' that separates namespace parts in the store.
func checkRealm(s string) error {
	if len(s) > 64 {
		return errors.New("is longer than 64 characters")
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%q may hold only letters, digits, '.', '_' and '-'", s)
		}
	}
	return nil
}
