package infobip

import (
	"context"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms"
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

	client *Client
	sender string
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Infobip) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".infobip",
		New: func() caddy.Module { return new(Infobip) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Infobip) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var key, base string
	if err := caddysms.ResolveOptions("infobip", []caddysms.Option{
		{Name: "api_key", Value: p.APIKey, Dst: &key, Required: true},
		{Name: "base_url", Value: p.BaseURL, Dst: &base, Required: true},
		{Name: "sender", Value: p.Sender, Dst: &p.sender},
	}); err != nil {
		return err
	}
	u, err := caddysms.CheckEndpoint("infobip", base, p.logger)
	if err != nil {
		return err
	}
	timeout, err := caddysms.TimeoutOrDefault("infobip", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &Client{APIKey: key, BaseURL: base, Version: caddysms.ModuleVersion(), HTTPClient: NewHTTPClient(timeout)}
	p.logger.Info("infobip provider ready",
		zap.String("base_url", u.Redacted()),
		zap.String("sender", p.sender),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *Infobip) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "send message"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("infobip", op)
	}
	id, err := p.client.Send(ctx, Message{Sender: p.sender, To: m.Phone, Text: m.Text})
	if err != nil {
		return sms.Result{}, caddysms.ClientError("infobip", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("infobip message sent", zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("id", id))
	return sms.Result{ID: id}, nil
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
	return caddysms.ParseBlock(d, "infobip", map[string]caddysms.BlockOption{
		"api_key":  caddysms.StringOpt("infobip", &p.APIKey),
		"base_url": caddysms.StringOpt("infobip", &p.BaseURL),
		"sender":   caddysms.StringOpt("infobip", &p.Sender),
		"timeout":  caddysms.TimeoutOpt("infobip", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*Infobip)(nil)
	_ caddy.Provisioner     = (*Infobip)(nil)
	_ caddyfile.Unmarshaler = (*Infobip)(nil)
	_ sms.Provider          = (*Infobip)(nil)
)
