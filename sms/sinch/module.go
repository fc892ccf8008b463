package sinch

import (
	"context"
	"fmt"
	"slices"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms"
)

func init() {
	caddy.RegisterModule(Sinch{})
}

// Sinch sends the message, code and origin-bound line included, as a
// batch of one through Sinch's SMS REST API. phone_otp makes and checks
// the code (Sinch Verification, which makes its own, is not used: see
// docs/providers.md).
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type Sinch struct {
	// ServicePlanID is the SMS service plan's id, part of every URL.
	// Required.
	ServicePlanID string `json:"service_plan_id,omitempty"`

	// APIToken is the service plan's API token, sent as a bearer token.
	// Required; keep it out of the config with {env.SINCH_API_TOKEN}.
	APIToken string `json:"api_token,omitempty"`

	// From is the sender: a Sinch number, short code or alphanumeric
	// sender id. Optional when the plan has a default originator.
	From string `json:"from,omitempty"`

	// Region is where the service plan lives: us, eu, au, br or ca.
	// Default: us.
	Region string `json:"region,omitempty"`

	// Endpoint is the API base URL, an absolute http or https URL; it
	// overrides region. Default: https://{region}.sms.api.sinch.com.
	Endpoint string `json:"endpoint,omitempty"`

	// Timeout bounds each call to Sinch. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client *Client
	from   string
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Sinch) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".sinch",
		New: func() caddy.Module { return new(Sinch) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Sinch) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var plan, token, region, endpoint string
	if err := caddysms.ResolveOptions("sinch", []caddysms.Option{
		{Name: "service_plan_id", Value: p.ServicePlanID, Dst: &plan, Required: true},
		{Name: "api_token", Value: p.APIToken, Dst: &token, Required: true},
		{Name: "from", Value: p.From, Dst: &p.from},
		{Name: "region", Value: p.Region, Default: "us", Dst: &region},
		{Name: "endpoint", Value: p.Endpoint, Dst: &endpoint},
	}); err != nil {
		return err
	}
	if !slices.Contains(Regions, region) {
		return fmt.Errorf("sinch: region must be one of %v, not %q", Regions, region)
	}
	if endpoint == "" {
		endpoint = RegionEndpoint(region)
	}
	u, err := caddysms.CheckEndpoint("sinch", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := caddysms.TimeoutOrDefault("sinch", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &Client{ServicePlanID: plan, APIToken: token, Endpoint: endpoint, Version: caddysms.ModuleVersion(), HTTPClient: NewHTTPClient(timeout)}
	p.logger.Info("sinch provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("from", p.from),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *Sinch) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "send batch"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("sinch", op)
	}
	id, err := p.client.Send(ctx, Message{From: p.from, To: m.Phone, Body: m.Text})
	if err != nil {
		return sms.Result{}, caddysms.ClientError("sinch", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("sinch batch sent", zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("id", id))
	return sms.Result{ID: id}, nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms sinch {
//	    service_plan_id {env.SINCH_SERVICE_PLAN_ID}
//	    api_token       {env.SINCH_API_TOKEN}
//	    from            +12015550100
//	    region          eu
//	    endpoint        https://eu.sms.api.sinch.com
//	    timeout         10s
//	}
func (p *Sinch) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "sinch", map[string]caddysms.BlockOption{
		"service_plan_id": caddysms.StringOpt("sinch", &p.ServicePlanID),
		"api_token":       caddysms.StringOpt("sinch", &p.APIToken),
		"from":            caddysms.StringOpt("sinch", &p.From),
		"region":          caddysms.StringOpt("sinch", &p.Region),
		"endpoint":        caddysms.StringOpt("sinch", &p.Endpoint),
		"timeout":         caddysms.TimeoutOpt("sinch", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*Sinch)(nil)
	_ caddy.Provisioner     = (*Sinch)(nil)
	_ caddyfile.Unmarshaler = (*Sinch)(nil)
	_ sms.Provider          = (*Sinch)(nil)
)
