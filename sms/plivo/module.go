package plivo

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
	caddy.RegisterModule(Plivo{})
}

// Plivo sends the message, code and origin-bound line included, through
// Plivo's Message API. phone_otp makes and checks the code (Plivo
// Verify, which makes its own, is not used: see docs/providers.md).
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type Plivo struct {
	// AuthID is the account's (or subaccount's) Auth ID, MA… or SA….
	// Required.
	AuthID string `json:"auth_id,omitempty"`

	// AuthToken is its Auth Token. Required; keep it out of the config
	// with {env.PLIVO_AUTH_TOKEN}.
	AuthToken string `json:"auth_token,omitempty"`

	// Src is the sender: a Plivo number in E.164 form, or an
	// alphanumeric sender id where the country allows one. Set src or
	// powerpack_uuid.
	Src string `json:"src,omitempty"`

	// PowerpackUUID sends from a Powerpack's number pool instead of src.
	PowerpackUUID string `json:"powerpack_uuid,omitempty"`

	// Endpoint is the API base URL, an absolute http or https URL.
	// Default: https://api.plivo.com.
	Endpoint string `json:"endpoint,omitempty"`

	// Timeout bounds each call to Plivo. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client         *Client
	src, powerpack string
	logger         *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Plivo) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".plivo",
		New: func() caddy.Module { return new(Plivo) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Plivo) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var id, token, endpoint string
	if err := caddysms.ResolveOptions("plivo", []caddysms.Option{
		{Name: "auth_id", Value: p.AuthID, Dst: &id, Required: true},
		{Name: "auth_token", Value: p.AuthToken, Dst: &token, Required: true},
		{Name: "src", Value: p.Src, Dst: &p.src},
		{Name: "powerpack_uuid", Value: p.PowerpackUUID, Dst: &p.powerpack},
		{Name: "endpoint", Value: p.Endpoint, Default: DefaultEndpoint, Dst: &endpoint},
	}); err != nil {
		return err
	}
	if (p.src == "") == (p.powerpack == "") {
		return fmt.Errorf("plivo: set one of src and powerpack_uuid")
	}
	u, err := caddysms.CheckEndpoint("plivo", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := caddysms.TimeoutOrDefault("plivo", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &Client{AuthID: id, AuthToken: token, Endpoint: endpoint, Version: caddysms.ModuleVersion(), HTTPClient: NewHTTPClient(timeout)}
	p.logger.Info("plivo provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("auth_id", id),
		zap.String("src", p.src),
		zap.String("powerpack_uuid", p.powerpack),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *Plivo) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "send message"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("plivo", op)
	}
	id, err := p.client.Send(ctx, Message{Src: p.src, PowerpackUUID: p.powerpack, Dst: m.Phone, Text: m.Text})
	if err != nil {
		return sms.Result{}, caddysms.ClientError("plivo", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("plivo message sent", zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("id", id))
	return sms.Result{ID: id}, nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms plivo {
//	    auth_id        {env.PLIVO_AUTH_ID}
//	    auth_token     {env.PLIVO_AUTH_TOKEN}
//	    src            +12015550100
//	    powerpack_uuid d35f2e82-d387-427f-8594-6fa07703744d
//	    endpoint       https://api.plivo.com
//	    timeout        10s
//	}
func (p *Plivo) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "plivo", map[string]caddysms.BlockOption{
		"auth_id":        caddysms.StringOpt("plivo", &p.AuthID),
		"auth_token":     caddysms.StringOpt("plivo", &p.AuthToken),
		"src":            caddysms.StringOpt("plivo", &p.Src),
		"powerpack_uuid": caddysms.StringOpt("plivo", &p.PowerpackUUID),
		"endpoint":       caddysms.StringOpt("plivo", &p.Endpoint),
		"timeout":        caddysms.TimeoutOpt("plivo", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*Plivo)(nil)
	_ caddy.Provisioner     = (*Plivo)(nil)
	_ caddyfile.Unmarshaler = (*Plivo)(nil)
	_ sms.Provider          = (*Plivo)(nil)
)
