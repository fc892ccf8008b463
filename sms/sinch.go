package sms

import (
	"context"
	"fmt"
	"slices"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms/sinch"
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

	client *sinch.Client
	from   string
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Sinch) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  Namespace + ".sinch",
		New: func() caddy.Module { return new(Sinch) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Sinch) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var plan, token, region, endpoint string
	if err := resolveOptions("sinch", []option{
		{"service_plan_id", p.ServicePlanID, "", &plan, true},
		{"api_token", p.APIToken, "", &token, true},
		{"from", p.From, "", &p.from, false},
		{"region", p.Region, "us", &region, false},
		{"endpoint", p.Endpoint, "", &endpoint, false},
	}); err != nil {
		return err
	}
	if !slices.Contains(sinch.Regions, region) {
		return fmt.Errorf("sinch: region must be one of %v, not %q", sinch.Regions, region)
	}
	if endpoint == "" {
		endpoint = sinch.RegionEndpoint(region)
	}
	u, err := checkEndpoint("sinch", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := timeoutOrDefault("sinch", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &sinch.Client{ServicePlanID: plan, APIToken: token, Endpoint: endpoint, Version: moduleVersion(), HTTPClient: sinch.NewHTTPClient(timeout)}
	p.logger.Info("sinch provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("from", p.from),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *Sinch) Send(ctx context.Context, m Message) (Result, error) {
	const op = "send batch"
	if p.client == nil {
		return Result{}, notProvisioned("sinch", op)
	}
	id, err := p.client.Send(ctx, sinch.Message{From: p.from, To: m.Phone, Body: m.Text})
	if err != nil {
		return Result{}, clientError("sinch", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("sinch batch sent", zap.String("phone", MaskPhone(m.Phone)), zap.String("id", id))
	return Result{ID: id}, nil
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
	return parseBlock(d, "sinch", map[string]blockOption{
		"service_plan_id": stringOpt("sinch", &p.ServicePlanID),
		"api_token":       stringOpt("sinch", &p.APIToken),
		"from":            stringOpt("sinch", &p.From),
		"region":          stringOpt("sinch", &p.Region),
		"endpoint":        stringOpt("sinch", &p.Endpoint),
		"timeout":         timeoutOpt("sinch", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*Sinch)(nil)
	_ caddy.Provisioner     = (*Sinch)(nil)
	_ caddyfile.Unmarshaler = (*Sinch)(nil)
	_ Provider              = (*Sinch)(nil)
)
