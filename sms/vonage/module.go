package vonage

import (
	"context"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms"
)

func init() {
	caddy.RegisterModule(Vonage{})
}

// Vonage sends the message, code and origin-bound line included, through
// Vonage's (formerly Nexmo's) SMS API. phone_otp makes and checks the
// code.
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type Vonage struct {
	// APIKey is the account's API key. Required.
	APIKey string `json:"api_key,omitempty"`

	// APISecret is the account's API secret. Required; keep it out of
	// the config with {env.VONAGE_API_SECRET}.
	APISecret string `json:"api_secret,omitempty"`

	// From is the sender: a virtual number or an alphanumeric sender id,
	// as the destination country allows. Required.
	From string `json:"from,omitempty"`

	// Endpoint is the API base URL, an absolute http or https URL.
	// Default: https://rest.nexmo.com.
	Endpoint string `json:"endpoint,omitempty"`

	// Timeout bounds each call to Vonage. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client *Client
	from   string
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Vonage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".vonage",
		New: func() caddy.Module { return new(Vonage) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Vonage) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var key, secret, endpoint string
	if err := caddysms.ResolveOptions("vonage", []caddysms.Option{
		{Name: "api_key", Value: p.APIKey, Dst: &key, Required: true},
		{Name: "api_secret", Value: p.APISecret, Dst: &secret, Required: true},
		{Name: "from", Value: p.From, Dst: &p.from, Required: true},
		{Name: "endpoint", Value: p.Endpoint, Default: DefaultEndpoint, Dst: &endpoint},
	}); err != nil {
		return err
	}
	u, err := caddysms.CheckEndpoint("vonage", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := caddysms.TimeoutOrDefault("vonage", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &Client{
		APIKey: key, APISecret: secret, Endpoint: endpoint,
		Version: caddysms.ModuleVersion(), HTTPClient: NewHTTPClient(timeout),
	}
	p.logger.Info("vonage provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("from", p.from),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *Vonage) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "send sms"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("vonage", op)
	}
	res, err := p.client.Send(ctx, Message{From: p.from, To: m.Phone, Text: m.Text})
	if err != nil {
		return sms.Result{}, caddysms.ClientError("vonage", op, m.Phone, m.Code, err)
	}
	id := strings.Join(res.MessageIDs, ",")
	p.logger.Debug("vonage message sent", zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("id", id))
	return sms.Result{ID: id}, nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms vonage {
//	    api_key    {env.VONAGE_API_KEY}
//	    api_secret {env.VONAGE_API_SECRET}
//	    from       MyBrand
//	    endpoint   https://rest.nexmo.com
//	    timeout    10s
//	}
func (p *Vonage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "vonage", map[string]caddysms.BlockOption{
		"api_key":    caddysms.StringOpt("vonage", &p.APIKey),
		"api_secret": caddysms.StringOpt("vonage", &p.APISecret),
		"from":       caddysms.StringOpt("vonage", &p.From),
		"endpoint":   caddysms.StringOpt("vonage", &p.Endpoint),
		"timeout":    caddysms.TimeoutOpt("vonage", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*Vonage)(nil)
	_ caddy.Provisioner     = (*Vonage)(nil)
	_ caddyfile.Unmarshaler = (*Vonage)(nil)
	_ sms.Provider          = (*Vonage)(nil)
)
