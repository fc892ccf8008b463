package telnyx

import (
	"context"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms"
)

func init() {
	caddy.RegisterModule(Telnyx{})
}

// Telnyx sends the message, code and origin-bound line included, through
// Telnyx's Messages API v2. phone_otp makes and checks the code (Telnyx
// Verify, which makes its own, is not used: see docs/providers.md).
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type Telnyx struct {
	// APIKey is a Telnyx v2 API key (KEY…), sent as a bearer token.
	// Required; keep it out of the config with {env.TELNYX_API_KEY}.
	APIKey string `json:"api_key,omitempty"`

	// From is the sender: a Telnyx number in E.164 form, or an
	// alphanumeric sender id (which then needs messaging_profile_id).
	// Required unless messaging_profile_id is set.
	From string `json:"from,omitempty"`

	// MessagingProfileID is the messaging profile to send with; without
	// from, Telnyx picks one of the profile's numbers.
	MessagingProfileID string `json:"messaging_profile_id,omitempty"`

	// Endpoint is the API base URL, an absolute http or https URL.
	// Default: https://api.telnyx.com.
	Endpoint string `json:"endpoint,omitempty"`

	// Timeout bounds each call to Telnyx. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client        *Client
	from, profile string
	logger        *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Telnyx) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".telnyx",
		New: func() caddy.Module { return new(Telnyx) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Telnyx) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var key, endpoint string
	if err := caddysms.ResolveOptions("telnyx", []caddysms.Option{
		{Name: "api_key", Value: p.APIKey, Dst: &key, Required: true},
		{Name: "from", Value: p.From, Dst: &p.from},
		{Name: "messaging_profile_id", Value: p.MessagingProfileID, Dst: &p.profile},
		{Name: "endpoint", Value: p.Endpoint, Default: DefaultEndpoint, Dst: &endpoint},
	}); err != nil {
		return err
	}
	if p.from == "" && p.profile == "" {
		return fmt.Errorf("telnyx: from or messaging_profile_id is required")
	}
	u, err := caddysms.CheckEndpoint("telnyx", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := caddysms.TimeoutOrDefault("telnyx", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &Client{APIKey: key, Endpoint: endpoint, Version: caddysms.ModuleVersion(), HTTPClient: NewHTTPClient(timeout)}
	p.logger.Info("telnyx provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("from", p.from),
		zap.String("messaging_profile_id", p.profile),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *Telnyx) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "send message"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("telnyx", op)
	}
	id, err := p.client.Send(ctx, Message{From: p.from, MessagingProfileID: p.profile, To: m.Phone, Text: m.Text})
	if err != nil {
		return sms.Result{}, caddysms.ClientError("telnyx", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("telnyx message sent", zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("id", id))
	return sms.Result{ID: id}, nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms telnyx {
//	    api_key              {env.TELNYX_API_KEY}
//	    from                 +12015550100
//	    messaging_profile_id 4001767e-ce0f-4cae-9d5f-0d5e636e7809
//	    endpoint             https://api.telnyx.com
//	    timeout              10s
//	}
func (p *Telnyx) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "telnyx", map[string]caddysms.BlockOption{
		"api_key":              caddysms.StringOpt("telnyx", &p.APIKey),
		"from":                 caddysms.StringOpt("telnyx", &p.From),
		"messaging_profile_id": caddysms.StringOpt("telnyx", &p.MessagingProfileID),
		"endpoint":             caddysms.StringOpt("telnyx", &p.Endpoint),
		"timeout":              caddysms.TimeoutOpt("telnyx", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*Telnyx)(nil)
	_ caddy.Provisioner     = (*Telnyx)(nil)
	_ caddyfile.Unmarshaler = (*Telnyx)(nil)
	_ sms.Provider          = (*Telnyx)(nil)
)
