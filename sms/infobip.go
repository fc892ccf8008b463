package sms

import (
	"context"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms/infobip"
)

func init() {
	caddy.RegisterModule(Infobip{})
}

// Infobip sends the message, code and origin-bound line included,
// through Infobip's SMS API v3. phone_otp makes and checks the code
// (Infobip 2FA, which makes its own, is not used: see
// docs/providers.md).
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type Infobip struct {
	// APIKey is an Infobip API key with the SMS scope, sent as
	// "Authorization: App <key>". Required; keep it out of the config
	// with {env.INFOBIP_API_KEY}.
	APIKey string `json:"api_key,omitempty"`

	// BaseURL is the account's personal base URL, shown in the Infobip
	// portal, e.g. https://xxxxx.api.infobip.com. Required.
	BaseURL string `json:"base_url,omitempty"`

	// Sender is a number or an alphanumeric sender id registered with
	// Infobip. Default: the account's.
	Sender string `json:"sender,omitempty"`

	// Timeout bounds each call to Infobip. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client *infobip.Client
	sender string
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Infobip) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  Namespace + ".infobip",
		New: func() caddy.Module { return new(Infobip) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Infobip) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var key, base string
	if err := resolveOptions("infobip", []option{
		{"api_key", p.APIKey, "", &key, true},
		{"base_url", p.BaseURL, "", &base, true},
		{"sender", p.Sender, "", &p.sender, false},
	}); err != nil {
		return err
	}
	u, err := checkEndpoint("infobip", base, p.logger)
	if err != nil {
		return err
	}
	timeout, err := timeoutOrDefault("infobip", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &infobip.Client{APIKey: key, BaseURL: base, Version: moduleVersion(), HTTPClient: infobip.NewHTTPClient(timeout)}
	p.logger.Info("infobip provider ready",
		zap.String("base_url", u.Redacted()),
		zap.String("sender", p.sender),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *Infobip) Send(ctx context.Context, m Message) (Result, error) {
	const op = "send message"
	if p.client == nil {
		return Result{}, notProvisioned("infobip", op)
	}
	id, err := p.client.Send(ctx, infobip.Message{Sender: p.sender, To: m.Phone, Text: m.Text})
	if err != nil {
		return Result{}, clientError("infobip", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("infobip message sent", zap.String("phone", MaskPhone(m.Phone)), zap.String("id", id))
	return Result{ID: id}, nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms infobip {
//	    api_key  {env.INFOBIP_API_KEY}
//	    base_url https://xxxxx.api.infobip.com
//	    sender   InfoSMS
//	    timeout  10s
//	}
func (p *Infobip) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return parseBlock(d, "infobip", map[string]blockOption{
		"api_key":  stringOpt("infobip", &p.APIKey),
		"base_url": stringOpt("infobip", &p.BaseURL),
		"sender":   stringOpt("infobip", &p.Sender),
		"timeout":  timeoutOpt("infobip", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*Infobip)(nil)
	_ caddy.Provisioner     = (*Infobip)(nil)
	_ caddyfile.Unmarshaler = (*Infobip)(nil)
	_ Provider              = (*Infobip)(nil)
)
