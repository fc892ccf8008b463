package caddyotp

import (
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/internal/ui"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

func init() {
	httpcaddyfile.RegisterDirective("phone_otp", parseDirective)
	// After basic_auth, so that basic_auth can be the first factor and
	// {http.auth.user.id} is known when phone_otp runs.
	httpcaddyfile.RegisterDirectiveOrder("phone_otp", httpcaddyfile.After, "basic_auth")
}

// parseDirective is RegisterHandlerDirective's work, with two additions.
// It keeps the matcher token: with the site's addresses it names the
// handler's default protection domain (see Handler.Site). And with a
// matcher, the requests outside it get a phone_otp_strip handler, so that
// a client-sent identity header is removed on every request of the site,
// as it is on the requests phone_otp handles itself. The two routes match
// disjoint requests, so their order does not matter, and a request
// phone_otp handles pays for one more matcher only.
func parseDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	if !h.Next() {
		return nil, h.ArgErr()
	}
	matcherSet, hasMatcher, err := h.MatcherToken()
	if err != nil {
		return nil, err
	}
	matcher := ""
	if hasMatcher {
		matcher = h.Val()
		h.Delete() // as ExtractMatcherSet does
	}
	h.Reset()
	handler, err := parseCaddyfile(h, matcher)
	if err != nil {
		return nil, err
	}
	routes := h.NewRoute(matcherSet, handler)
	if matcherSet == nil {
		return routes, nil // phone_otp sees every request and strips itself
	}
	outside := caddy.ModuleMap{"not": caddyconfig.JSON([]caddy.ModuleMap{matcherSet}, nil)}
	strip := &StripHeader{Header: handler.(*Handler).Header}
	return append(h.NewRoute(outside, strip), routes...), nil
}

func parseCaddyfile(h httpcaddyfile.Helper, matcher string) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	if err := m.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	m.SiteHosts = siteHosts(h)
	h.Reset()
	h.Next() // errors below point at the directive
	keys, ok := siteKeys(h)
	if !ok {
		if m.Realm == "" {
			return nil, h.Errf("cannot read this site's addresses from this version of Caddy's Caddyfile adapter, so handlers of different sites could not be told apart; set `realm` to name this handler's protection domain")
		}
		return m, nil
	}
	slices.Sort(keys)
	if matcher != "" && matcher != "*" {
		keys = append(keys, matcher)
	}
	m.Site = strings.Join(keys, " ")
	if m.Realm != "" {
		return m, nil
	}
	// Two handlers of one site with the same matcher and names would be
	// one domain, silently sharing sessions (e.g. under two `handle`
	// blocks, whose matchers Caddy has taken away by now). Sharing must be
	// said, with a realm; otherwise they must differ.
	same := strings.Join([]string{m.Site, cmp.Or(m.Prefix, defaultPrefix), cmp.Or(m.Issuer, defaultIssuer),
		cmp.Or(m.CookieName, defaultCookieName), m.CookieDomain}, "\x00")
	seen, _ := h.State["phone_otp.domains"].(map[string]string)
	if seen == nil {
		seen = map[string]string{}
		h.State["phone_otp.domains"] = seen
	}
	if at, dup := seen[same]; dup {
		return nil, h.Errf("this handler and the one at %s have the same site, matcher, prefix, issuer, cookie_name and cookie_domain, so they would be one protection domain; give each its own prefix (and cookie_name), or name one `realm` in both to share sign-ins on purpose", at)
	}
	seen[same] = fmt.Sprintf("%s:%d", h.File(), h.Line())
	return m, nil
}

// siteKeys returns the addresses of the site block the directive is in.
// The Helper keeps its block unexported (parentBlock), so it is read with
// reflect, and only if it still has the shape this expects;
// TestSiteKeysFromHelper fails when Caddy's internals change.
func siteKeys(h httpcaddyfile.Helper) ([]string, bool) {
	block := reflect.ValueOf(h).FieldByName("parentBlock")
	if !block.IsValid() || block.Type() != reflect.TypeFor[caddyfile.ServerBlock]() {
		return nil, false
	}
	keys := block.FieldByName("Keys")
	if keys.Len() == 0 {
		return nil, false
	}
	out := make([]string, keys.Len())
	for i := range out {
		out[i] = keys.Index(i).FieldByName("Text").String()
	}
	return out, true
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	phone_otp [<matcher>] {
//	    sms <provider> { ... }
//	    store memory | redis { ... }
//	    prefix        /_otp
//	    code_length   6
//	    code_ttl      5m
//	    max_attempts  3
//	    block_for     15m
//	    resend_after  30s
//	    limit_phone   5
//	    limit_ip      20
//	    limit_global  1000
//	    session_ttl   12h
//	    secret        {env.OTP_SECRET}
//	    issuer        phone_otp
//	    cookie_name   otp_session
//	    cookie_domain example.com
//	    cookie_secure auto | always
//	    realm         example
//	    header        X-Verified-Phone
//	    allow         +12015550123 ...
//	    allow_file    /etc/caddy/phones.txt
//	    countries     US GB DE
//	    origin        app.example.com
//	    message       "{code} is your {host} code."
//	    template_dir  /etc/caddy/otp-pages
//	    lang          en de
//	    users_file    /etc/caddy/otp-users.txt
//	    user_placeholder {http.auth.user.id}
//	    idle_timeout  30m
//	    bind_ip
//	    remember_device 720h
//	    limit_prefix  10 (and the other SMS-pumping options: unmarshalPumping)
//	    call          twilio_verify { ... }
//	    logo          /etc/caddy/logo.png   # or: logo_url /static/logo.svg
//	}
//
// Values are checked here as well as at Provision, so a bad one is
// reported with its file and line.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	var needsUsers error
	for d.NextBlock(0) {
		opt := d.Val()
		if seen[opt] && opt != "allow" {
			return d.Errf("%s: already specified", opt)
		}
		seen[opt] = true
		var err error
		switch opt {
		case "sms":
			err = h.unmarshalModule(d, &h.SMSRaw, sms.Namespace, "provider")
		case "store":
			err = h.unmarshalModule(d, &h.StoreRaw, store.Namespace, "module")
		case "prefix":
			err = oneString(d, &h.Prefix, checkPrefix)
		case "code_length":
			err = oneInt(d, &h.CodeLength, 4, 10)
		case "code_ttl":
			err = oneDuration(d, &h.CodeTTL, 10*time.Second, 10*time.Minute)
		case "max_attempts":
			err = oneInt(d, &h.MaxAttempts, 1, 10)
		case "block_for":
			err = oneDuration(d, &h.BlockFor, time.Minute, 0)
		case "resend_after":
			err = oneDuration(d, &h.ResendAfter, time.Second, time.Hour)
		case "limit_phone":
			err = oneInt(d, &h.LimitPhone, 1, 0)
		case "limit_ip":
			err = oneInt(d, &h.LimitIP, 1, 0)
		case "limit_global":
			err = oneInt(d, &h.LimitGlobal, 1, 0)
		case "session_ttl":
			err = oneDuration(d, &h.SessionTTL, time.Minute, 0)
		case "secret":
			// Checked for length at Provision, once placeholders resolve;
			// a literal can be checked now.
			err = oneString(d, &h.Secret, func(s string) error {
				if hasPlaceholder(s) {
					return nil
				}
				return checkSecret(s)
			})
		case "issuer":
			err = oneString(d, &h.Issuer, checkNonEmpty)
		case "cookie_name":
			err = oneString(d, &h.CookieName, checkToken)
		case "cookie_domain":
			err = oneString(d, &h.CookieDomain, checkCookieDomain)
		case "cookie_secure":
			err = oneString(d, &h.CookieSecure, func(s string) error {
				if hasPlaceholder(s) {
					return nil
				}
				return checkCookieSecure(s)
			})
		case "realm":
			err = oneString(d, &h.Realm, func(s string) error {
				if err := checkNonEmpty(s); err != nil || hasPlaceholder(s) {
					return err
				}
				return checkRealm(s)
			})
		case "header":
			err = oneString(d, &h.Header, checkToken)
		case "allow":
			err = h.unmarshalAllow(d)
		case "allow_file":
			err = oneString(d, &h.AllowFile, checkNonEmpty)
		case "countries":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return argErr(d, "countries")
			}
			for _, c := range args {
				if err := phone.CheckCountry(c); err != nil {
					return d.Errf("countries: %v", err)
				}
			}
			h.Countries = args
		case "origin":
			err = oneString(d, &h.Origin, func(s string) error {
				if hasPlaceholder(s) {
					return nil
				}
				return checkOrigin(s)
			})
		case "message":
			err = oneString(d, &h.Message, checkMessage)
		case "template_dir":
			err = oneString(d, &h.TemplateDir, checkNonEmpty)
		case "lang":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return argErr(d, "lang")
			}
			for _, l := range args {
				if err := ui.CheckLang(l); err != nil {
					return d.Errf("lang: %v", err)
				}
			}
			h.Lang = args
		case "users_file":
			err = oneString(d, &h.UsersFile, checkNonEmpty)
		case "user_placeholder":
			err = oneString(d, &h.UserPlaceholder, checkNonEmpty)
		case "idle_timeout":
			err = oneDuration(d, &h.IdleTimeout, session.MinIdleTimeout, 0)
		case "bind_ip":
			if d.NextArg() {
				return argErr(d, opt)
			}
			h.BindIP = true
		case "remember_device":
			err = oneDuration(d, &h.RememberDevice, time.Minute, 0)
			// Needs users_file, which may come later in the block: the
			// error, with this line, is made now and returned at the end.
			needsUsers = d.Errf("remember_device: needs users_file; without a first factor a remembered device would be the only one")
		default:
			var ok bool
			if ok, err = h.unmarshalPumping(d, opt); !ok && err == nil {
				ok, err = h.unmarshalReach(d, opt)
			}
			if !ok {
				return d.Errf("unrecognized phone_otp option %q", opt)
			}
		}
		if err != nil {
			return err
		}
	}
	if needsUsers != nil && h.UsersFile == "" {
		// As validate says at Provision, but with the line, at adapt
		// (found by FuzzCaddyfile).
		return needsUsers
	}
	return nil
}

// unmarshalModule parses `<name> <module> [{ ... }]` into a module object
// with the module's name under inlineKey.
func (h *Handler) unmarshalModule(d *caddyfile.Dispenser, raw *json.RawMessage, ns, inlineKey string) error {
	opt := d.Val()
	if !d.NextArg() {
		return argErr(d, opt)
	}
	name := d.Val()
	unm, err := caddyfile.UnmarshalModule(d, ns+"."+name)
	if err != nil {
		// err already names the file and line where the module's
		// tokens went wrong; d has moved past them.
		return fmt.Errorf("%s: %w", opt, err)
	}
	*raw = caddyconfig.JSONModuleObject(unm, inlineKey, name, nil)
	return nil
}

func (h *Handler) unmarshalAllow(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return argErr(d, "allow")
	}
	for _, a := range args {
		if !hasPlaceholder(a) {
			if _, err := phone.ParseE164(a); err != nil {
				return d.Errf("allow: %v", err)
			}
		}
	}
	h.Allow = append(h.Allow, args...)
	return nil
}

// argErr is d.ArgErr naming the option, since the token it points at may
// be an extra value rather than the option.
func argErr(d *caddyfile.Dispenser, opt string) error {
	return d.Errf("%s: wrong argument count or unexpected line ending after '%s'", opt, d.Val())
}

// hasPlaceholder reports whether s holds a placeholder such as {env.X},
// whose value is only known at Provision.
func hasPlaceholder(s string) bool { return strings.Contains(s, "{") }

func oneString(d *caddyfile.Dispenser, dst *string, check func(string) error) error {
	opt := d.Val()
	if !d.NextArg() {
		return argErr(d, opt)
	}
	val := d.Val()
	if d.NextArg() {
		return argErr(d, opt)
	}
	if err := check(val); err != nil {
		return d.Errf("%s: %v", opt, err)
	}
	*dst = val
	return nil
}

func oneInt(d *caddyfile.Dispenser, dst *int, lo, hi int) error {
	opt := d.Val()
	if !d.NextArg() {
		return argErr(d, opt)
	}
	n, err := strconv.Atoi(d.Val())
	if err != nil {
		return d.Errf("%s: %q is not a whole number", opt, d.Val())
	}
	if d.NextArg() {
		return argErr(d, opt)
	}
	if err := checkIntRange(n, lo, hi); err != nil {
		return d.Errf("%s: %v", opt, err)
	}
	*dst = n
	return nil
}

func oneDuration(d *caddyfile.Dispenser, dst *caddy.Duration, lo, hi time.Duration) error {
	opt := d.Val()
	if !d.NextArg() {
		return argErr(d, opt)
	}
	dur, err := caddy.ParseDuration(d.Val())
	if err != nil {
		return d.Errf("%s: %v", opt, err)
	}
	if d.NextArg() {
		return argErr(d, opt)
	}
	if err := checkDurRange(dur, lo, hi); err != nil {
		return d.Errf("%s: %v", opt, err)
	}
	*dst = caddy.Duration(dur)
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
