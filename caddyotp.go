// Package caddyotp is a Caddy HTTP middleware that puts phone-number
// two-factor authentication in front of any route: a visitor with no valid
// session is sent to a login page, receives a one-time code by SMS, types
// it in and gets a signed JWT session cookie.
package caddyotp

import (
	"encoding/json"
	"fmt"
	"net/textproto"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/internal/ui"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

// Version is reported in User-Agent headers and by list-modules.
const Version = "0.1.0"

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the phone_otp middleware. Requests with a valid session pass
// on to the next handler with the verified phone in `header`; others are
// sent to the login pages under `prefix`, which it serves itself.
type Handler struct {
	// The SMS provider that delivers codes: a module in the
	// http.handlers.phone_otp.sms namespace (`log`, `dexatel`, ...).
	// Required.
	SMSRaw json.RawMessage `json:"sms,omitempty" caddy:"namespace=http.handlers.phone_otp.sms inline_key=provider"`

	// Where pending codes, attempt counters, blocks, rate-limit windows and
	// revoked sessions are kept: a module in the http.handlers.phone_otp.store
	// namespace. Default: `memory`, which survives `caddy reload` and keeps
	// revocations, blocks and attempt counters in Caddy's storage across a
	// restart; `redis` is shared by several Caddy instances.
	StoreRaw json.RawMessage `json:"store,omitempty" caddy:"namespace=http.handlers.phone_otp.store inline_key=module"`

	// The path under which the login pages and the JSON API are served.
	// The route phone_otp is on must match it. Default: `/_otp`.
	Prefix string `json:"prefix,omitempty"`

	// How many digits a code has, 4 to 10. Default: 6.
	CodeLength int `json:"code_length,omitempty"`

	// How long a code stays valid, 10s to 10m. Default: 5m.
	CodeTTL caddy.Duration `json:"code_ttl,omitempty"`

	// How many wrong codes a phone may enter before it is blocked, 1 to 10.
	// Default: 3.
	MaxAttempts int `json:"max_attempts,omitempty"`

	// How long a phone stays blocked after max_attempts wrong codes: no
	// verify and no new code for it until then. At least 1m. Default: 15m.
	BlockFor caddy.Duration `json:"block_for,omitempty"`

	// The shortest gap between two codes sent to one phone. Default: 30s.
	ResendAfter caddy.Duration `json:"resend_after,omitempty"`

	// Codes per phone per hour. Default: 5.
	LimitPhone int `json:"limit_phone,omitempty"`

	// Codes per client IP per hour (Caddy's client IP, which honours
	// `trusted_proxies`; IPv6 clients are counted per /64). Default: 20.
	LimitIP int `json:"limit_ip,omitempty"`

	// Codes per hour for the whole site, a cap against SMS pumping.
	// Default: 1000.
	LimitGlobal int `json:"limit_global,omitempty"`

	// How long a session lasts after the code is verified. At least 1m.
	// Default: 12h.
	SessionTTL caddy.Duration `json:"session_ttl,omitempty"`

	// The HS256 key that signs sessions, at least 32 bytes; use a
	// placeholder such as `{env.OTP_SECRET}`. If absent, a random one is
	// generated once and kept in Caddy's storage, so restarts keep sessions.
	Secret string `json:"secret,omitempty"`

	// The JWT `iss` claim, set on every session and checked on every
	// request. Default: `phone_otp`.
	Issuer string `json:"issuer,omitempty"`

	// The session cookie's name. Default: `otp_session`.
	CookieName string `json:"cookie_name,omitempty"`

	// The session cookie's Domain attribute. Default: none (host-only).
	CookieDomain string `json:"cookie_domain,omitempty"`

	// When cookies are Secure and the same-origin check of form POSTs
	// expects an https:// origin. `auto`: when the request came over TLS,
	// or from a proxy in Caddy's `trusted_proxies` whose X-Forwarded-Proto
	// says https (the last value, as reverse_proxy reads it); from any other
	// client that header changes nothing. `always`: on every request, for a
	// TLS-terminating proxy that sends no X-Forwarded-Proto; only if every
	// visitor reaches the site over HTTPS. Default: `auto`.
	CookieSecure string `json:"cookie_secure,omitempty"`
	// Names the protection domain the handler belongs to, to share one
	// sign-in across sites: handlers with the same realm (and the same
	// secret and issuer) accept each other's sessions, challenges and
	// remembered devices, and share their limits, blocks and attempt
	// counters. Sessions then carry `aud` "realm:<name>". Letters, digits,
	// '.', '_' and '-'. Default: none, the handler is a domain of its own
	// (see site).
	Realm string `json:"realm,omitempty"`

	// Where the handler sits, for its default protection domain: the
	// Caddyfile adapter sets it to the site block's addresses and the
	// directive's matcher. Without realm, the domain is derived from site,
	// prefix, issuer, cookie_name and cookie_domain (never from limits or
	// rules), so it stays the same across reloads, restarts and instances,
	// and changing any of these ends the handler's sessions. A JSON config
	// written by hand may leave it out; handlers whose other four fields
	// are the same then share a domain. Default: empty.
	Site string `json:"site,omitempty"`

	// The request header that carries the verified phone (E.164) upstream.
	// Any copy the client sent is always removed. Default: `X-Verified-Phone`.
	Header string `json:"header,omitempty"`

	// If set, only these phones (E.164) get an SMS. Others get the same
	// answer as any phone, so that numbers cannot be enumerated.
	Allow []string `json:"allow,omitempty"`

	// A file of allowed phones, one E.164 number a line, `#` comments.
	// Joined with `allow`.
	AllowFile string `json:"allow_file,omitempty"`

	// If set, only phones in these countries (ISO 3166 alpha-2) get an SMS;
	// others get the same answer as any phone. The first one is also the
	// country assumed for numbers typed without `+`.
	Countries []string `json:"countries,omitempty"`

	// The site name that SMS texts carry (`{host}`, and the origin-bound
	// last line `@{host} #{code}`), whatever Host the request names: a host
	// name or IP address, no scheme, port or path. Placeholders allowed.
	// Default: the request's host if it is one of site_hosts; a send for
	// any other Host is refused with 400 unknown_host and nothing is sent.
	Origin string `json:"origin,omitempty"`

	// The host names of the site (`*` stands for one label), which an SMS
	// may name when origin is not set. The Caddyfile fills it in from the
	// site's addresses; a catch-all site (`:8080`, `http://`) has none, so
	// it needs origin, and says so at start-up. Default: none.
	SiteHosts []string `json:"site_hosts,omitempty"`

	// The SMS text for providers that send text, with `{code}`, `{host}`
	// and `{minutes}`. A last line `@{host} #{code}` is always added, so
	// phones offer the code to this site only. Default:
	// `{code} is your verification code for {host}.`
	Message string `json:"message,omitempty"`

	// A directory of the site's own pages: layout.html, phone.html,
	// verify.html, logout.html and message.html (html/template files; any
	// missing one is the built-in), and texts.<lang>.json files that
	// translate or reword the texts. Read and checked at start-up and on
	// reload. Default: none, the built-in pages.
	TemplateDir string `json:"template_dir,omitempty"`

	// The languages the pages speak (BCP 47: `en`, `de`, or one of
	// template_dir's texts.<lang>.json). One language: always that one.
	// Several: each visitor gets the best match for their Accept-Language,
	// else the first. Default: every language there are texts for, matched
	// to Accept-Language, else English.
	Lang []string `json:"lang,omitempty"`

	// Makes phone_otp a second factor after an earlier auth handler such
	// as basic_auth: a file of "username +E164" lines (`#` comments). The
	// user named by user_placeholder gets the code on their listed phone;
	// the client never chooses the phone, a user not listed gets 403, and
	// a session is good only while the same user is authenticated. Read
	// and checked at start-up and on every reload; a bad line is a config
	// error naming the file and line. Default: none (phone-only login).
	UsersFile string `json:"users_file,omitempty"`

	// Where the first factor's user is read from, with users_file.
	// Default: `{http.auth.user.id}`, which basic_auth sets.
	UserPlaceholder string `json:"user_placeholder,omitempty"`

	// Ends a session unused this long (sliding; at least 2m). The cookie
	// is re-issued at most once a minute to slide it; session_ttl stays
	// the absolute limit. Default: 0, off.
	IdleTimeout caddy.Duration `json:"idle_timeout,omitempty"`

	// Binds a session to the client IP that verified it (Caddy's client
	// IP, which honours trusted_proxies): from any other it is no session.
	// Default: false.
	BindIP bool `json:"bind_ip,omitempty"`

	// Lets a user tick "trust this browser" when entering the code: the
	// browser then gets a device cookie that skips the SMS step for that
	// user for this long, until it is forgotten at logout or the user is
	// dropped from users_file. Needs users_file, so that the first factor
	// is still asked every time. At least 1m. Default: 0, off.
	RememberDevice caddy.Duration `json:"remember_device,omitempty"`

	PumpingOptions // withhold_types, limit_prefix, breaker_*, pause_for (pumping.go)
	reachOptions   // call, logo, logo_url (reach.go)

	sender   sms.Provider
	store    store.Store
	flow     *flow.Flow
	sessions *session.Sessions
	// sessionsShared is what sessions keep across a reload, pooled under
	// sessionsKey ("": h's own); sessions_pool.go.
	sessionsShared *session.Shared
	sessionsKey    string
	chTokens       *session.ChallengeTokens
	audit          *audit
	keys           session.Keys
	region         string
	headerKey      string // Header in canonical form
	identityMark   string // see identityMark
	ui             *ui.UI
	users          users            // users_file; nil without one
	userKey        string           // the name in user_placeholder, if it is only one
	devices        *session.Devices // remember_device; nil when off
	now            func() time.Time
	logger         *zap.Logger

	// pumpingClock, when set, is the SMS-pumping breakers' clock instead
	// of now: the integration tests step it (export_test.go) to cross the
	// breakers' windows and pauses without ageing codes and sessions.
	// Made at Provision; a pointer, as Caddy copies the config.
	pumpingClock *atomic.Pointer[func() time.Time]

	smsID     string       // the provider's config, hashed (providerIdentity)
	recentKey string       // the domain and provider recent is kept for
	recent    *flow.Recent // the provider's recent real calls (internal/flow/imitate.go)
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.phone_otp",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets defaults, resolves placeholders, validates the config and
// loads the provider and store.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if h.now == nil {
		h.now = time.Now
	}
	h.pumpingClock = new(atomic.Pointer[func() time.Time])
	repl := caddy.NewReplacer()
	// A secret written as a placeholder that resolves to nothing is a
	// mistake (an unset variable), not a request to generate one: each
	// instance would make its own and refuse the others' sessions.
	if h.Secret != "" && repl.ReplaceKnown(h.Secret, "") == "" {
		return fmt.Errorf("secret: %s resolves to an empty value; set it, or remove the option to have a secret generated and kept in storage", h.Secret)
	}
	for _, s := range []*string{&h.Prefix, &h.Secret, &h.Issuer, &h.CookieName, &h.CookieDomain, &h.Realm, &h.Header, &h.AllowFile, &h.Message, &h.TemplateDir, &h.UsersFile} {
		*s = repl.ReplaceKnown(*s, "")
	}
	for i := range h.Allow {
		h.Allow[i] = repl.ReplaceKnown(h.Allow[i], "")
	}
	h.CookieSecure = repl.ReplaceKnown(h.CookieSecure, "")
	if h.Origin != "" && repl.ReplaceKnown(h.Origin, "") == "" {
		return fmt.Errorf("origin: %s resolves to an empty value", h.Origin)
	}
	h.Origin = normalHost(repl.ReplaceKnown(h.Origin, ""))
	for i := range h.SiteHosts {
		h.SiteHosts[i] = normalHost(repl.ReplaceKnown(h.SiteHosts[i], ""))
	}
	h.setDefaults()
	if err := h.validate(); err != nil {
		return err
	}

	policy, err := h.phonePolicy()
	if err != nil {
		return err
	}
	if h.ui, err = ui.New(ui.Config{
		TemplateDir: h.TemplateDir, Lang: h.Lang, Countries: h.Countries,
		Prefix: h.Prefix, CodeLength: h.CodeLength, CodeTTL: time.Duration(h.CodeTTL), MaxAttempts: h.MaxAttempts,
	}); err != nil {
		return err
	}
	if h.UsersFile != "" {
		if h.users, err = phone.ReadUsersFile(h.UsersFile); err != nil {
			return fmt.Errorf("users_file: %w", err)
		}
		h.userKey = placeholderKey(h.UserPlaceholder)
	}

	if h.StoreRaw == nil {
		h.StoreRaw = caddyconfig.JSONModuleObject(struct{}{}, "module", "memory", nil)
	}
	mod, err := ctx.LoadModule(h, "StoreRaw")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var ok bool
	if h.store, ok = mod.(store.Store); !ok {
		return fmt.Errorf("store: module %T is not a store", mod)
	}

	if err := h.provisionSender(ctx); err != nil {
		return err
	}
	if err := h.provisionAudit(ctx); err != nil {
		return err
	}
	h.recent = sharedRecent(h)
	recordCalls(h.sender, h.recent, flow.CheckedBySMS)
	h.joinCalls()

	secret := []byte(h.Secret)
	if h.Secret == "" {
		if secret, err = session.LoadOrCreateSecret(ctx, ctx.Storage()); err != nil {
			return fmt.Errorf("secret: %w", err)
		}
	}
	ns := h.domain()
	if h.keys, err = session.DeriveKeys(secret, ns); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	h.logger.Debug("protection domain", zap.String("domain", ns), zap.String("site", h.Site))
	if h.Site == "" && h.Realm == "" {
		h.logger.Warn(`no "site" and no "realm": this handler's protection domain comes from prefix, issuer, cookie_name and cookie_domain alone, so any handler that agrees on these shares its sessions, limits and blocks; set "site" to where it sits (the Caddyfile adapter does), or "realm" to share on purpose`,
			zap.String("domain", ns))
	}
	if err := domainOwners.claim(ctx, h, ns); err != nil {
		return err
	}
	h.flow = &flow.Flow{
		Store: h.store, Sender: h.sender, Now: h.now, NS: ns, Key: h.keys.Code,
		CodeLength: h.CodeLength, CodeTTL: time.Duration(h.CodeTTL),
		MaxAttempts: h.MaxAttempts, BlockFor: time.Duration(h.BlockFor), ResendAfter: time.Duration(h.ResendAfter),
		LimitPhone: h.LimitPhone, LimitIP: h.LimitIP, LimitGlobal: h.LimitGlobal,
		Policy: policy, Pumping: h.pumpingGuard(policy), Message: h.renderMessage,
		Recent: h.recent, Wait: flow.Sleep, CanCall: h.canCall,
	}
	if err := h.newSessions(ns); err != nil {
		return err
	}
	h.sessions.Idle = time.Duration(h.IdleTimeout)
	h.sessions.Accept = h.acceptSession
	h.sessions.Mark = identityMark(h.Header)
	if h.RememberDevice > 0 {
		h.devices = session.NewDevices(h.keys.Device, h.Issuer, time.Duration(h.RememberDevice), h.store, ns, h.now)
	}
	h.chTokens = session.NewChallengeTokens(h.keys.Challenge, h.Issuer, h.now, challengeGrace)
	if len(h.Countries) > 0 {
		h.region = h.Countries[0]
	}
	h.headerKey = textproto.CanonicalMIMEHeaderKey(h.Header)
	h.identityMark = identityMark(h.Header)
	if h.Origin == "" && len(h.SiteHosts) == 0 {
		h.logger.Warn("neither origin nor the site's host names are known (a catch-all site, or JSON config without site_hosts): every send is refused with 400 unknown_host until origin is set",
			zap.String("issuer", h.Issuer))
	}
	live.add(ctx, h)
	return nil
}

// phonePolicy builds the allowlist and country rules.
func (h *Handler) phonePolicy() (phone.Policy, error) {
	var p phone.Policy
	phones := h.Allow
	if h.AllowFile != "" {
		more, err := phone.ReadFile(h.AllowFile)
		if err != nil {
			return p, fmt.Errorf("allow_file: %w", err)
		}
		phones = append(append([]string(nil), phones...), more...)
		if len(phones) == 0 {
			// An empty file still means "only these": nobody.
			p.Allow = map[string]struct{}{}
		}
	}
	if len(phones) > 0 {
		p.Allow = make(map[string]struct{}, len(phones))
		for _, ph := range phones {
			p.Allow[ph] = struct{}{}
		}
	}
	if len(h.Countries) > 0 {
		p.Countries = make(map[string]struct{}, len(h.Countries))
		for _, c := range h.Countries {
			p.Countries[c] = struct{}{}
		}
	}
	return p, nil
}

// Interface guards
var (
	_ caddy.Module      = (*Handler)(nil)
	_ caddy.Provisioner = (*Handler)(nil)
)
