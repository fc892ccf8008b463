// Package caddysms is what phone_otp's SMS provider modules share as Caddy
// modules: resolving their options at Provision, checking endpoints and
// timeouts, reading their Caddyfile blocks and turning a client's error
// into an *sms.Error fit for the log. It also holds the provider-neutral
// guest modules failover and log.
package caddysms

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
)

// Option is one string option of a provider, resolved by ResolveOptions.
type Option struct {
	// Name is the option's Caddyfile and JSON name, for errors.
	Name string
	// Value is what the admin wrote, placeholders and all.
	Value string
	// Default is used when Value is empty after resolving.
	Default string
	// Dst receives the resolved value.
	Dst *string
	// Required makes an empty resolved value an error.
	Required bool
}

// ResolveOptions resolves {env.*} and {file.*} placeholders in each
// Option into its dst, trimmed, with its default if empty.
func ResolveOptions(provider string, opts []Option) error {
	repl := caddy.NewReplacer()
	for _, o := range opts {
		// An unknown placeholder is most likely a typo ({evn.KEY}): better
		// a start-up error than a literal "{evn.KEY}" sent as the key.
		v, err := repl.ReplaceOrErr(o.Value, false, true)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", provider, o.Name, err)
		}
		v = strings.TrimSpace(v)
		if v == "" {
			v = o.Default
		}
		if o.Required && v == "" {
			return fmt.Errorf("%s: %s is required (empty after placeholders were resolved)", provider, o.Name)
		}
		*o.Dst = v
	}
	return nil
}

// CheckEndpoint checks that endpoint is an absolute http(s) base URL with
// no credentials, query or fragment, and warns if plain http would carry
// secrets off this machine.
func CheckEndpoint(provider, endpoint string, logger *zap.Logger) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%s: endpoint: %w", provider, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: endpoint %q must be an absolute http or https URL", provider, endpoint)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		// Scheme and host only: the query or fragment may hold a secret.
		return nil, fmt.Errorf("%s: endpoint %s must not hold credentials, a query or a fragment", provider, (&url.URL{Scheme: u.Scheme, Host: u.Host}).String())
	}
	WarnPlainHTTP(provider, u, logger)
	return u, nil
}

// WarnPlainHTTP warns if u is plain http to another machine: the
// credentials and codes would cross the network in clear.
func WarnPlainHTTP(provider string, u *url.URL, logger *zap.Logger) {
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		logger.Warn(provider+" endpoint is plain http: credentials and codes cross the network in clear",
			zap.String("endpoint", u.Scheme+"://"+u.Host))
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TimeoutOrDefault is t, or DefaultTimeout if unset.
func TimeoutOrDefault(provider string, t caddy.Duration) (time.Duration, error) {
	d := time.Duration(t)
	if d < 0 {
		return 0, fmt.Errorf("%s: timeout must be positive, not %s", provider, d)
	}
	if d == 0 {
		d = sms.DefaultTimeout
	}
	return d, nil
}

// ModuleVersion is this plugin's module version for the User-Agent.
func ModuleVersion() string {
	const path = "github.com/caddyotp/caddyotp"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := ""
	if bi.Main.Path == path {
		v = bi.Main.Version
	}
	for _, dep := range bi.Deps {
		if dep.Path == path {
			v = dep.Version
		}
	}
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}

// ClientError turns a client's error into an *sms.Error for phone_otp's log.
// A gateway's own message may quote what it was sent (Twilio's "Invalid
// 'To' Phone Number: +12015550123"), so the phone is masked and the code
// cut out of it.
func ClientError(provider, op, phone, code string, err error) error {
	var e *sms.Error
	if !errors.As(err, &e) {
		return &sms.Error{Provider: provider, Op: op, Err: err}
	}
	out := *e
	out.Provider = provider
	out.Message = sms.ScrubText(e.Message, phone, code)
	return &out
}

// NotProvisioned is Send's or Check's error on a module used before
// Provision.
func NotProvisioned(provider, op string) error {
	return &sms.Error{Provider: provider, Op: op, Err: errors.New("provider not provisioned"), Unsent: true}
}

// BlockOption reads one option of a provider's Caddyfile block; d is on
// the option's name.
type BlockOption func(d *caddyfile.Dispenser) error

// ParseBlock reads `<name> [{ … }]`: every option is one of opts, at most
// once unless it is in repeat. Errors carry the file and line.
func ParseBlock(d *caddyfile.Dispenser, provider string, opts map[string]BlockOption, repeat ...string) error {
	d.Next() // the module name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		name := d.Val()
		opt, ok := opts[name]
		if !ok {
			return d.Errf("unrecognized %s option '%s'", provider, name)
		}
		if seen[name] && !slices.Contains(repeat, name) {
			return d.Errf("%s option '%s' already specified", provider, name)
		}
		seen[name] = true
		if err := opt(d); err != nil {
			return err
		}
	}
	return nil
}

// Args reads the option's arguments, n of them (any number, at least
// one, if n is 0), and refuses a block after them.
func Args(d *caddyfile.Dispenser, provider string, n int) ([]string, error) {
	name := d.Val()
	a := d.RemainingArgs()
	if (n > 0 && len(a) != n) || len(a) == 0 {
		return nil, d.ArgErr()
	}
	if d.NextBlock(d.Nesting()) {
		return nil, d.Errf("%s option '%s' takes no block", provider, name)
	}
	return a, nil
}

// StringOpt reads an option of one argument into dst.
func StringOpt(provider string, dst *string) BlockOption {
	return func(d *caddyfile.Dispenser) error {
		a, err := Args(d, provider, 1)
		if err == nil {
			*dst = a[0]
		}
		return err
	}
}

// TimeoutOpt reads a positive duration into dst.
func TimeoutOpt(provider string, dst *caddy.Duration) BlockOption {
	return func(d *caddyfile.Dispenser) error {
		a, err := Args(d, provider, 1)
		if err != nil {
			return err
		}
		dur, err := caddy.ParseDuration(a[0])
		if err != nil {
			return d.Errf("%s timeout '%s': %v", provider, a[0], err)
		}
		if dur <= 0 {
			return d.Errf("%s timeout must be positive, not '%s'", provider, a[0])
		}
		*dst = caddy.Duration(dur)
		return nil
	}
}
