package sms

import (
	"context"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms/telnyx"
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

	client        *telnyx.Client
	from, profile string
	logger        *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Telnyx) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  Namespace + ".telnyx",
		New: func() caddy.Module { return new(Telnyx) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Telnyx) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var key, endpoint string
	if err := resolveOptions("telnyx", []option{
		{"api_key", p.APIKey, "", &key, true},
		{"from", p.From, "", &p.from, false},
		{"messaging_profile_id", p.MessagingProfileID, "", &p.profile, false},
		{"endpoint", p.Endpoint, telnyx.DefaultEndpoint, &endpoint, false},
	}); err != nil {
		return err
	}
	if p.from == "" && p.profile == "" {
		return fmt.Errorf("telnyx: from or messaging_profile_id is required")
	}
	u, err := checkEndpoint("telnyx", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := timeoutOrDefault("telnyx", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &telnyx.Client{APIKey: key, Endpoint: endpoint, Version: moduleVersion(), HTTPClient: telnyx.NewHTTPClient(timeout)}
	p.logger.Info("telnyx provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("from", p.from),
		zap.String("messaging_profile_id", p.profile),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *Telnyx) Send(ctx context.Context, m Message) (Result, error) {
	const op = "send message"
	if p.client == nil {
		return Result{}, notProvisioned("telnyx", op)
	}
	id, err := p.client.Send(ctx, telnyx.Message{From: p.from, MessagingProfileID: p.profile, To: m.Phone, Text: m.Text})
	if err != nil {
		return Result{}, clientError("telnyx", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("telnyx message sent", zap.String("phone", MaskPhone(m.Phone)), zap.String("id", id))
	return Result{ID: id}, nil
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
	return parseBlock(d, "telnyx", map[string]blockOption{
		"api_key":              stringOpt("telnyx", &p.APIKey),
		"from":                 stringOpt("telnyx", &p.From),
		"messaging_profile_id": stringOpt("telnyx", &p.MessagingProfileID),
		"endpoint":             stringOpt("telnyx", &p.Endpoint),
		"timeout":              timeoutOpt("telnyx", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*Telnyx)(nil)
	_ caddy.Provisioner     = (*Telnyx)(nil)
	_ caddyfile.Unmarshaler = (*Telnyx)(nil)
	_ Provider              = (*Telnyx)(nil)
)
