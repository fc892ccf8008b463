package caddyotp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"golang.org/x/net/http/httpguts"

	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/internal/session"
)

// Defaults, as documented on the fields.
const (
	defaultPrefix      = "/_otp"
	defaultCodeLength  = 6
	defaultCodeTTL     = 5 * time.Minute
	defaultMaxAttempts = 3
	defaultBlockFor    = 15 * time.Minute
	defaultResendAfter = 30 * time.Second
	defaultLimitPhone  = 5
	defaultLimitIP     = 20
	defaultLimitGlobal = 1000
	defaultSessionTTL  = 12 * time.Hour
	defaultIssuer      = "phone_otp"
	defaultCookieName  = "otp_session"
	defaultHeader      = "X-Verified-Phone"
	defaultMessage     = "{code} is your verification code for {host}."
	minSecretLen       = session.MinSecretLen
)

func (h *Handler) setDefaults() {
	setString := func(s *string, def string) {
		if *s == "" {
			*s = def
		}
	}
	setInt := func(n *int, def int) {
		if *n == 0 {
			*n = def
		}
	}
	setDur := func(d *caddy.Duration, def time.Duration) {
		if *d == 0 {
			*d = caddy.Duration(def)
		}
	}
	setString(&h.Prefix, defaultPrefix)
	setString(&h.Issuer, defaultIssuer)
	setString(&h.CookieName, defaultCookieName)
	setString(&h.CookieSecure, cookieSecureAuto)
	setString(&h.Header, defaultHeader)
	setString(&h.Message, defaultMessage)
	setString(&h.UserPlaceholder, defaultUserPlaceholder)
	setInt(&h.CodeLength, defaultCodeLength)
	setInt(&h.MaxAttempts, defaultMaxAttempts)
	setInt(&h.LimitPhone, defaultLimitPhone)
	setInt(&h.LimitIP, defaultLimitIP)
	setInt(&h.LimitGlobal, defaultLimitGlobal)
	setDur(&h.CodeTTL, defaultCodeTTL)
	setDur(&h.BlockFor, defaultBlockFor)
	setDur(&h.ResendAfter, defaultResendAfter)
	setDur(&h.SessionTTL, defaultSessionTTL)
	h.PumpingOptions.setDefaults()
}

// validate checks every option; the Caddyfile parser runs the same checks
// (the check functions below) so that errors carry the file and line.
func (h *Handler) validate() error {
	checks := []struct {
		name string
		err  error
	}{
		{"prefix", checkPrefix(h.Prefix)},
		{"code_length", checkIntRange(h.CodeLength, 4, 10)},
		{"code_ttl", checkDurRange(time.Duration(h.CodeTTL), 10*time.Second, 10*time.Minute)},
		{"max_attempts", checkIntRange(h.MaxAttempts, 1, 10)},
		{"block_for", checkDurRange(time.Duration(h.BlockFor), time.Minute, 0)},
		{"resend_after", checkDurRange(time.Duration(h.ResendAfter), time.Second, time.Hour)},
		{"limit_phone", checkIntRange(h.LimitPhone, 1, 0)},
		{"limit_ip", checkIntRange(h.LimitIP, 1, 0)},
		{"limit_global", checkIntRange(h.LimitGlobal, 1, 0)},
		{"session_ttl", checkDurRange(time.Duration(h.SessionTTL), time.Minute, 0)},
		{"secret", checkSecret(h.Secret)},
		{"issuer", checkNonEmpty(h.Issuer)},
		{"cookie_name", checkToken(h.CookieName)},
		{"cookie_domain", checkCookieDomain(h.CookieDomain)},
		{"cookie_secure", checkCookieSecure(h.CookieSecure)},
		{"realm", checkRealm(h.Realm)},
		{"header", checkToken(h.Header)},
		{"message", checkMessage(h.Message)},
		{"user_placeholder", checkNonEmpty(h.UserPlaceholder)},
		{"idle_timeout", checkOptionalDur(time.Duration(h.IdleTimeout), session.MinIdleTimeout)},
		{"remember_device", checkOptionalDur(time.Duration(h.RememberDevice), time.Minute)},
	}
	for _, c := range checks {
		if c.err != nil {
			return fmt.Errorf("%s: %w", c.name, c.err)
		}
	}
	if err := h.PumpingOptions.validate(); err != nil {
		return err
	}
	if h.RememberDevice > 0 && h.UsersFile == "" {
		return errors.New("remember_device: needs users_file; without a first factor a remembered device would be the only one")
	}
	if h.Origin != "" {
		if err := checkOrigin(h.Origin); err != nil {
			return fmt.Errorf("origin: %w", err)
		}
	}
	for _, s := range h.SiteHosts {
		if err := checkSiteHost(s); err != nil {
			return fmt.Errorf("site_hosts: %w", err)
		}
	}
	for _, p := range h.Allow {
		if _, err := phone.ParseE164(p); err != nil {
			return fmt.Errorf("allow: %w", err)
		}
	}
	for _, c := range h.Countries {
		if err := phone.CheckCountry(c); err != nil {
			return fmt.Errorf("countries: %w", err)
		}
	}
	return nil
}

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
