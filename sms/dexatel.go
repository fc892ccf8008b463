package sms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms/dexatel"
)

func init() {
	caddy.RegisterModule(Dexatel{})
}

// Dexatel's Verify API takes codes of 4 to 8 digits.
const (
	dexatelMinCode = 4
	dexatelMaxCode = 8
)

// Dexatel sends codes through Dexatel's Verify API
// (https://docs.dexatel.com). With `check local` (the default) phone_otp
// makes the code and Dexatel only delivers it; with `check remote`
// Dexatel makes the code and phone_otp asks Dexatel whether what the
// visitor typed matches. Either way phone_otp's own expiry, attempt
// counting and blocking apply.
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type Dexatel struct {
	// APIKey is the Dexatel API key, sent as the X-Dexatel-Key header.
	// Required; keep it out of the config with {env.DEXATEL_API_KEY}.
	APIKey string `json:"api_key,omitempty"`

	// Sender is the sender name or number the SMS comes from, as
	// registered with Dexatel. Required.
	Sender string `json:"sender,omitempty"`

	// Template is the id of a Dexatel template whose text holds {code}.
	// Required.
	Template string `json:"template,omitempty"`

	// Channel is Dexatel's delivery channel. Default: SMS.
	Channel string `json:"channel,omitempty"`

	// Endpoint is the API base URL, an absolute http or https URL.
	// Default: https://api.dexatel.com.
	Endpoint string `json:"endpoint,omitempty"`

	// CheckMode is who makes and checks codes: "local" (phone_otp makes the
	// code and sends it in data.code) or "remote" (Dexatel makes a code of
	// the configured length and phone_otp checks it with Dexatel).
	// Default: local.
	CheckMode string `json:"check,omitempty"`

	// Timeout bounds each call to Dexatel. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client *dexatel.Client
	// Resolved copies of the options: the exported fields keep what the
	// admin wrote, so a resolved secret is never marshalled back out.
	sender, template, channel string
	remote                    bool
	logger                    *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Dexatel) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  Namespace + ".dexatel",
		New: func() caddy.Module { return new(Dexatel) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Dexatel) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	repl := caddy.NewReplacer()
	resolve := func(name, v, def string) (string, error) {
		// An unknown placeholder is most likely a typo ({evn.KEY}): better
		// a start-up error than a literal "{evn.KEY}" sent as the key.
		out, err := repl.ReplaceOrErr(v, false, true)
		if err != nil {
			return "", fmt.Errorf("dexatel: %s: %v", name, err)
		}
		out = strings.TrimSpace(out)
		if out == "" {
			out = def
		}
		return out, nil
	}
	var apiKey, endpoint, check string
	for _, o := range []struct {
		name, value, def string
		dst              *string
		required         bool
	}{
		{"api_key", p.APIKey, "", &apiKey, true},
		{"sender", p.Sender, "", &p.sender, true},
		{"template", p.Template, "", &p.template, true},
		{"channel", p.Channel, "SMS", &p.channel, false},
		{"endpoint", p.Endpoint, dexatel.DefaultEndpoint, &endpoint, false},
		{"check", p.CheckMode, "local", &check, false},
	} {
		v, err := resolve(o.name, o.value, o.def)
		if err != nil {
			return err
		}
		if o.required && v == "" {
			return fmt.Errorf("dexatel: %s is required (empty after placeholders were resolved)", o.name)
		}
		*o.dst = v
	}

	switch check {
	case "local":
		p.remote = false
	case "remote":
		p.remote = true
	default:
		return fmt.Errorf("dexatel: check must be local or remote, not %q", check)
	}

	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("dexatel: endpoint: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("dexatel: endpoint %q must be an absolute http or https URL", endpoint)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("dexatel: endpoint %q must not hold credentials, a query or a fragment", u.Redacted())
	}
	if u.Scheme == "http" && !dexatelLoopback(u.Hostname()) {
		p.logger.Warn("dexatel endpoint is plain http: the API key crosses the network in clear",
			zap.String("endpoint", u.Redacted()))
	}

	timeout := time.Duration(p.Timeout)
	if timeout < 0 {
		return fmt.Errorf("dexatel: timeout must be positive, not %s", timeout)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}

	p.client = dexatel.New(apiKey)
	p.client.Endpoint = endpoint
	p.client.Version = dexatelVersion()
	p.client.HTTPClient = dexatel.NewHTTPClient(timeout)

	p.logger.Info("dexatel provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("sender", p.sender),
		zap.String("template", p.template),
		zap.String("channel", p.channel),
		zap.String("check", check),
		zap.Duration("timeout", timeout))
	return nil
}

// Send starts a Dexatel verification for m.Phone. In local mode it sends
// m.Code; in remote mode it asks Dexatel for a code of m.CodeLength digits.
func (p *Dexatel) Send(ctx context.Context, m Message) (Result, error) {
	const op = "create verification"
	if p.client == nil {
		return Result{}, &Error{Provider: "dexatel", Op: op, Err: errors.New("provider not provisioned")}
	}
	req := dexatel.CreateRequest{
		Sender:   p.sender,
		Phone:    m.Phone,
		Template: p.template,
		Channel:  p.channel,
	}
	if p.remote {
		// Never both code and code_length: Dexatel refuses that (1629).
		if m.CodeLength < dexatelMinCode || m.CodeLength > dexatelMaxCode {
			return Result{}, &Error{Provider: "dexatel", Op: op,
				Err: fmt.Errorf("code length %d outside %d..%d", m.CodeLength, dexatelMinCode, dexatelMaxCode)}
		}
		req.CodeLength = m.CodeLength
	} else {
		// The error states the length only: the code never goes in an error.
		if len(m.Code) < dexatelMinCode || len(m.Code) > dexatelMaxCode {
			return Result{}, &Error{Provider: "dexatel", Op: op,
				Err: fmt.Errorf("code of %d digits outside %d..%d", len(m.Code), dexatelMinCode, dexatelMaxCode)}
		}
		req.Code = m.Code
	}
	v, err := p.client.CreateVerification(ctx, req)
	if err != nil {
		return Result{}, dexatelError(op, err)
	}
	id := v.MessageID
	if id == "" {
		id = v.ID
	}
	p.logger.Debug("dexatel verification created",
		zap.String("phone", MaskPhone(m.Phone)), zap.String("id", id))
	return Result{ID: id}, nil
}

// ChecksRemotely reports whether Dexatel makes and checks the codes.
func (p *Dexatel) ChecksRemotely() bool { return p.remote }

// Check asks Dexatel whether code is a current, unexpired code for phone.
func (p *Dexatel) Check(ctx context.Context, phone, code string) (bool, error) {
	const op = "check verification"
	if p.client == nil {
		return false, &Error{Provider: "dexatel", Op: op, Err: errors.New("provider not provisioned")}
	}
	ok, err := p.client.CheckVerification(ctx, phone, code)
	if err != nil {
		return false, dexatelError(op, err)
	}
	return ok, nil
}

// CodeLengthRange reports the code lengths Dexatel accepts.
func (*Dexatel) CodeLengthRange() (min, max int) { return dexatelMinCode, dexatelMaxCode }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms dexatel {
//	    api_key  {env.DEXATEL_API_KEY}
//	    sender   MyBrand
//	    template <template id>
//	    channel  SMS
//	    endpoint https://api.dexatel.com
//	    check    local|remote
//	    timeout  10s
//	}
func (p *Dexatel) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		name := d.Val()
		var dst *string
		switch name {
		case "api_key":
			dst = &p.APIKey
		case "sender":
			dst = &p.Sender
		case "template":
			dst = &p.Template
		case "channel":
			dst = &p.Channel
		case "endpoint":
			dst = &p.Endpoint
		case "check", "timeout":
		default:
			return d.Errf("unrecognized dexatel option '%s'", name)
		}
		if seen[name] {
			return d.Errf("dexatel option '%s' already specified", name)
		}
		seen[name] = true

		args := d.RemainingArgs()
		if len(args) != 1 {
			return d.ArgErr()
		}
		if d.NextBlock(d.Nesting()) {
			return d.Errf("dexatel option '%s' takes no block", name)
		}
		v := args[0]
		switch name {
		case "check":
			if v != "local" && v != "remote" {
				return d.Errf("dexatel check must be local or remote, not '%s'", v)
			}
			p.CheckMode = v
		case "timeout":
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("dexatel timeout '%s': %v", v, err)
			}
			if dur <= 0 {
				return d.Errf("dexatel timeout must be positive, not '%s'", v)
			}
			p.Timeout = caddy.Duration(dur)
		default:
			*dst = v
		}
	}
	return nil
}

// dexatelError turns a client error into an *Error for phone_otp's logs.
func dexatelError(op string, err error) error {
	var de *dexatel.Error
	if !errors.As(err, &de) {
		return &Error{Provider: "dexatel", Op: op, Err: err}
	}
	e := &Error{Provider: "dexatel", Op: de.Op, Status: de.Status, Message: de.Message, Err: de.Err}
	if de.Code != 0 {
		e.Code = strconv.Itoa(de.Code)
	}
	return e
}

// dexatelVersion is this plugin's module version for the User-Agent.
func dexatelVersion() string {
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

func dexatelLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Interface guards
var (
	_ caddy.Module          = (*Dexatel)(nil)
	_ caddy.Provisioner     = (*Dexatel)(nil)
	_ caddyfile.Unmarshaler = (*Dexatel)(nil)
	_ Provider              = (*Dexatel)(nil)
	_ RemoteChecker         = (*Dexatel)(nil)
	_ CodeLengthLimiter     = (*Dexatel)(nil)
)
