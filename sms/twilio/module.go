package twilio

import (
	"context"
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms"
)

func init() {
	caddy.RegisterModule(Twilio{})
}

// TwilioAuth is how the twilio and twilio_verify providers sign in to
// Twilio: an Account SID with its Auth Token, or an API Key SID with its
// secret (recommended: a key can be revoked on its own).
type TwilioAuth struct {
	// AccountSID is the Account SID (AC…). Required for `twilio`, whose
	// URLs hold it; with auth_token it is also the basic-auth user.
	AccountSID string `json:"account_sid,omitempty"`

	// AuthToken is the account's Auth Token. Use it, or api_key and
	// api_secret; keep it out of the config with {env.TWILIO_AUTH_TOKEN}.
	AuthToken string `json:"auth_token,omitempty"`

	// APIKey is an API Key SID (SK…), the basic-auth user instead of the
	// Account SID. Needs api_secret.
	APIKey string `json:"api_key,omitempty"`

	// APISecret is the API Key's secret.
	APISecret string `json:"api_secret,omitempty"`
}

// resolve resolves the placeholders and returns the account SID and the
// basic-auth credentials.
func (a TwilioAuth) resolve(provider string, needAccount bool) (string, Credentials, error) {
	var account, token, key, secret string
	if err := caddysms.ResolveOptions(provider, []caddysms.Option{
		{Name: "account_sid", Value: a.AccountSID, Dst: &account, Required: needAccount},
		{Name: "auth_token", Value: a.AuthToken, Dst: &token},
		{Name: "api_key", Value: a.APIKey, Dst: &key},
		{Name: "api_secret", Value: a.APISecret, Dst: &secret},
	}); err != nil {
		return "", Credentials{}, err
	}
	switch {
	case token != "" && (key != "" || secret != ""):
		return "", Credentials{}, fmt.Errorf("%s: use auth_token or api_key with api_secret, not both", provider)
	case token != "":
		if account == "" {
			return "", Credentials{}, fmt.Errorf("%s: auth_token needs account_sid", provider)
		}
		return account, Credentials{Username: account, Password: token}, nil
	case key != "" && secret != "":
		return account, Credentials{Username: key, Password: secret}, nil
	}
	return "", Credentials{}, fmt.Errorf("%s: credentials are required: auth_token, or api_key and api_secret", provider)
}

func (a *TwilioAuth) blockOptions(provider string, more map[string]caddysms.BlockOption) map[string]caddysms.BlockOption {
	more["account_sid"] = caddysms.StringOpt(provider, &a.AccountSID)
	more["auth_token"] = caddysms.StringOpt(provider, &a.AuthToken)
	more["api_key"] = caddysms.StringOpt(provider, &a.APIKey)
	more["api_secret"] = caddysms.StringOpt(provider, &a.APISecret)
	return more
}

// Twilio sends the message, code and origin-bound line included, as an
// SMS through Twilio's Programmable Messaging API. phone_otp makes and
// checks the code.
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type Twilio struct {
	TwilioAuth

	// From is the sender: a Twilio phone number in E.164 form, or an
	// alphanumeric sender id where the destination allows one. Required
	// unless messaging_service_sid is set.
	From string `json:"from,omitempty"`

	// MessagingServiceSID (MG…) lets a Messaging Service pick the sender
	// from its pool. Use it or `from`.
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`

	// Endpoint is the API base URL, an absolute http or https URL.
	// Default: https://api.twilio.com.
	Endpoint string `json:"endpoint,omitempty"`

	// Timeout bounds each call to Twilio. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client          *Client
	from, messaging string
	logger          *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Twilio) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".twilio",
		New: func() caddy.Module { return new(Twilio) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Twilio) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	account, creds, err := p.TwilioAuth.resolve("twilio", true)
	if err != nil {
		return err
	}
	var endpoint string
	if err := caddysms.ResolveOptions("twilio", []caddysms.Option{
		{Name: "from", Value: p.From, Dst: &p.from},
		{Name: "messaging_service_sid", Value: p.MessagingServiceSID, Dst: &p.messaging},
		{Name: "endpoint", Value: p.Endpoint, Default: DefaultEndpoint, Dst: &endpoint},
	}); err != nil {
		return err
	}
	if (p.from == "") == (p.messaging == "") {
		return errors.New("twilio: set one of from and messaging_service_sid")
	}
	u, err := caddysms.CheckEndpoint("twilio", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := caddysms.TimeoutOrDefault("twilio", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &Client{
		AccountSID: account, Credentials: creds, Endpoint: endpoint,
		Version: caddysms.ModuleVersion(), HTTPClient: NewHTTPClient(timeout),
	}
	p.logger.Info("twilio provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("account_sid", account),
		zap.String("from", p.from),
		zap.String("messaging_service_sid", p.messaging),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *Twilio) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "send message"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("twilio", op)
	}
	msg, err := p.client.SendMessage(ctx, MessageRequest{
		To: m.Phone, From: p.from, MessagingServiceSID: p.messaging, Body: m.Text,
	})
	if err != nil {
		return sms.Result{}, caddysms.ClientError("twilio", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("twilio message queued",
		zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("sid", msg.SID), zap.String("status", msg.Status))
	return sms.Result{ID: msg.SID}, nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms twilio {
//	    account_sid {env.TWILIO_ACCOUNT_SID}
//	    auth_token  {env.TWILIO_AUTH_TOKEN}   # or api_key + api_secret
//	    from        +12015550100             # or messaging_service_sid MG…
//	    endpoint    https://api.twilio.com
//	    timeout     10s
//	}
func (p *Twilio) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "twilio", p.TwilioAuth.blockOptions("twilio", map[string]caddysms.BlockOption{
		"from":                  caddysms.StringOpt("twilio", &p.From),
		"messaging_service_sid": caddysms.StringOpt("twilio", &p.MessagingServiceSID),
		"endpoint":              caddysms.StringOpt("twilio", &p.Endpoint),
		"timeout":               caddysms.TimeoutOpt("twilio", &p.Timeout),
	}))
}

// Interface guards
var (
	_ caddy.Module          = (*Twilio)(nil)
	_ caddy.Provisioner     = (*Twilio)(nil)
	_ caddyfile.Unmarshaler = (*Twilio)(nil)
	_ sms.Provider          = (*Twilio)(nil)
)
