package sms

import (
	"context"
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms/twilio"
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
func (a TwilioAuth) resolve(provider string, needAccount bool) (string, twilio.Credentials, error) {
	var account, token, key, secret string
	if err := resolveOptions(provider, []option{
		{"account_sid", a.AccountSID, "", &account, needAccount},
		{"auth_token", a.AuthToken, "", &token, false},
		{"api_key", a.APIKey, "", &key, false},
		{"api_secret", a.APISecret, "", &secret, false},
	}); err != nil {
		return "", twilio.Credentials{}, err
	}
	switch {
	case token != "" && (key != "" || secret != ""):
		return "", twilio.Credentials{}, fmt.Errorf("%s: use auth_token or api_key with api_secret, not both", provider)
	case token != "":
		if account == "" {
			return "", twilio.Credentials{}, fmt.Errorf("%s: auth_token needs account_sid", provider)
		}
		return account, twilio.Credentials{Username: account, Password: token}, nil
	case key != "" && secret != "":
		return account, twilio.Credentials{Username: key, Password: secret}, nil
	}
	return "", twilio.Credentials{}, fmt.Errorf("%s: credentials are required: auth_token, or api_key and api_secret", provider)
}

func (a *TwilioAuth) blockOptions(provider string, more map[string]blockOption) map[string]blockOption {
	more["account_sid"] = stringOpt(provider, &a.AccountSID)
	more["auth_token"] = stringOpt(provider, &a.AuthToken)
	more["api_key"] = stringOpt(provider, &a.APIKey)
	more["api_secret"] = stringOpt(provider, &a.APISecret)
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

	client          *twilio.Client
	from, messaging string
	logger          *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Twilio) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  Namespace + ".twilio",
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
	if err := resolveOptions("twilio", []option{
		{"from", p.From, "", &p.from, false},
		{"messaging_service_sid", p.MessagingServiceSID, "", &p.messaging, false},
		{"endpoint", p.Endpoint, twilio.DefaultEndpoint, &endpoint, false},
	}); err != nil {
		return err
	}
	if (p.from == "") == (p.messaging == "") {
		return errors.New("twilio: set one of from and messaging_service_sid")
	}
	u, err := checkEndpoint("twilio", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := timeoutOrDefault("twilio", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &twilio.Client{
		AccountSID: account, Credentials: creds, Endpoint: endpoint,
		Version: moduleVersion(), HTTPClient: twilio.NewHTTPClient(timeout),
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
func (p *Twilio) Send(ctx context.Context, m Message) (Result, error) {
	const op = "send message"
	if p.client == nil {
		return Result{}, notProvisioned("twilio", op)
	}
	msg, err := p.client.SendMessage(ctx, twilio.MessageRequest{
		To: m.Phone, From: p.from, MessagingServiceSID: p.messaging, Body: m.Text,
	})
	if err != nil {
		return Result{}, clientError("twilio", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("twilio message queued",
		zap.String("phone", MaskPhone(m.Phone)), zap.String("sid", msg.SID), zap.String("status", msg.Status))
	return Result{ID: msg.SID}, nil
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
	return parseBlock(d, "twilio", p.TwilioAuth.blockOptions("twilio", map[string]blockOption{
		"from":                  stringOpt("twilio", &p.From),
		"messaging_service_sid": stringOpt("twilio", &p.MessagingServiceSID),
		"endpoint":              stringOpt("twilio", &p.Endpoint),
		"timeout":               timeoutOpt("twilio", &p.Timeout),
	}))
}

// Interface guards
var (
	_ caddy.Module          = (*Twilio)(nil)
	_ caddy.Provisioner     = (*Twilio)(nil)
	_ caddyfile.Unmarshaler = (*Twilio)(nil)
	_ Provider              = (*Twilio)(nil)
)
