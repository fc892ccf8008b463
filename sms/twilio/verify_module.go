package twilio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms"
)

func init() {
	caddy.RegisterModule(TwilioVerify{})
}

// Twilio Verify takes codes of 4 to 10 digits, set on the Verify Service.
const (
	twilioVerifyMinCode = 4
	twilioVerifyMaxCode = 10
)

// TwilioVerify has Twilio Verify v2 make, send and check the code:
// phone_otp starts a verification and asks Twilio whether what the
// visitor typed is right. phone_otp's own expiry, attempt counting and
// blocking still apply on top of Twilio's. The SMS text is the Verify
// Service's, so `message` does not apply, and phone_otp's `code_length`
// must equal the Service's Code Length (Twilio's default is 6).
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type TwilioVerify struct {
	TwilioAuth

	// ServiceSID is the Verify Service (VA…). Required.
	ServiceSID string `json:"service_sid,omitempty"`

	// Endpoint is the API base URL, an absolute http or https URL.
	// Default: https://verify.twilio.com.
	Endpoint string `json:"endpoint,omitempty"`

	// Channel is how Twilio delivers the code: `sms`, `call` (Twilio's
	// voice reads it out) or `whatsapp` (needs a WhatsApp sender on the
	// Verify Service). Unless it is `call`, the code page offers "Call me
	// instead", which starts a verification on the call channel, and
	// twilio_verify can be the `call` provider of any other.
	// Default: sms.
	Channel string `json:"channel,omitempty"`

	// Timeout bounds each call to Twilio. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client  *VerifyClient
	channel string
	logger  *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (TwilioVerify) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".twilio_verify",
		New: func() caddy.Module { return new(TwilioVerify) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *TwilioVerify) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	_, creds, err := p.TwilioAuth.resolve("twilio_verify", false)
	if err != nil {
		return err
	}
	var service, endpoint string
	if err := caddysms.ResolveOptions("twilio_verify", []caddysms.Option{
		{Name: "service_sid", Value: p.ServiceSID, Dst: &service, Required: true},
		{Name: "endpoint", Value: p.Endpoint, Default: DefaultVerifyEndpoint, Dst: &endpoint},
		{Name: "channel", Value: p.Channel, Default: "sms", Dst: &p.channel},
	}); err != nil {
		return err
	}
	if !slices.Contains(Channels, p.channel) {
		return fmt.Errorf("twilio_verify: channel must be one of %s, not %q", strings.Join(Channels, ", "), p.channel)
	}
	u, err := caddysms.CheckEndpoint("twilio_verify", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := caddysms.TimeoutOrDefault("twilio_verify", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &VerifyClient{
		ServiceSID: service, Credentials: creds, Endpoint: endpoint,
		Version: caddysms.ModuleVersion(), HTTPClient: NewHTTPClient(timeout),
	}
	p.logger.Info("twilio_verify provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("service_sid", service),
		zap.String("channel", p.channel),
		zap.Duration("timeout", timeout))
	return nil
}

// Send starts a verification: Twilio makes the code and sends it on the
// configured channel, or calls for a ChannelCall message.
func (p *TwilioVerify) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "start verification"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("twilio_verify", op)
	}
	channel := p.channel
	if m.Channel == sms.ChannelCall {
		channel = "call"
	}
	v, err := p.client.Start(ctx, m.Phone, channel)
	if err != nil {
		return sms.Result{}, caddysms.ClientError("twilio_verify", op, m.Phone, "", err)
	}
	p.logger.Debug("twilio verification started",
		zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("sid", v.SID))
	return sms.Result{ID: v.SID, Remote: true}, nil
}

// CanCall reports true: Verify can always call.
func (*TwilioVerify) CanCall() bool { return true }

// CallsByDefault reports whether the configured channel is call.
func (p *TwilioVerify) CallsByDefault() bool { return p.channel == "call" }

// ChecksRemotely reports true: Twilio makes and checks the codes.
func (*TwilioVerify) ChecksRemotely() bool { return true }

// Check asks Twilio whether code is the pending code for phone. A code
// Twilio no longer knows (expired, used) is no match; Twilio's own
// limits are an error, so they cost the visitor no attempt, and its
// 60202 (too many checks of this verification) wraps ErrTooManyChecks.
func (p *TwilioVerify) Check(ctx context.Context, phone, code, _ string) (bool, error) {
	const op = "check verification"
	if p.client == nil {
		return false, caddysms.NotProvisioned("twilio_verify", op)
	}
	ok, err := p.client.CheckVerification(ctx, phone, code)
	var e *sms.Error
	if errors.As(err, &e) && e.Code == strconv.Itoa(CodeMaxCheckAttempts) {
		return false, fmt.Errorf("%w: %w", sms.ErrTooManyChecks, caddysms.ClientError("twilio_verify", op, phone, code, err))
	}
	if err != nil {
		return false, caddysms.ClientError("twilio_verify", op, phone, code, err)
	}
	return ok, nil
}

// Twilio Verify answers five checks of a verification and refuses the
// sixth with 60202 ("Max (5) verification check attempts reached",
// twilio.com/docs/api/errors/60202). A verification lives ten minutes by
// default, and a send to the same phone meanwhile continues it (the same
// code, "Rate Limits and Timeouts" in Twilio's Verify docs).
const (
	twilioVerifyMaxChecks = 5
	twilioVerifyLifetime  = 10 * time.Minute
)

// CheckLimit reports Twilio's five checks a verification.
func (*TwilioVerify) CheckLimit(string) (int, time.Duration) {
	return twilioVerifyMaxChecks, twilioVerifyLifetime
}

// CodeLengthRange reports the code lengths a Verify Service can have.
func (*TwilioVerify) CodeLengthRange() (min, max int) {
	return twilioVerifyMinCode, twilioVerifyMaxCode
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms twilio_verify {
//	    account_sid {env.TWILIO_ACCOUNT_SID}
//	    auth_token  {env.TWILIO_AUTH_TOKEN}   # or api_key + api_secret
//	    service_sid {env.TWILIO_VERIFY_SERVICE_SID}
//	    channel     sms|call|whatsapp
//	    endpoint    https://verify.twilio.com
//	    timeout     10s
//	}
func (p *TwilioVerify) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "twilio_verify", p.TwilioAuth.blockOptions("twilio_verify", map[string]caddysms.BlockOption{
		"service_sid": caddysms.StringOpt("twilio_verify", &p.ServiceSID),
		"endpoint":    caddysms.StringOpt("twilio_verify", &p.Endpoint),
		"channel": func(d *caddyfile.Dispenser) error {
			a, err := caddysms.Args(d, "twilio_verify", 1)
			if err != nil {
				return err
			}
			if !slices.Contains(Channels, a[0]) && !strings.Contains(a[0], "{") {
				return d.Errf("twilio_verify channel must be one of %s, not '%s'", strings.Join(Channels, ", "), a[0])
			}
			p.Channel = a[0]
			return nil
		},
		"timeout": caddysms.TimeoutOpt("twilio_verify", &p.Timeout),
	}))
}

// Interface guards
var (
	_ caddy.Module          = (*TwilioVerify)(nil)
	_ caddy.Provisioner     = (*TwilioVerify)(nil)
	_ caddyfile.Unmarshaler = (*TwilioVerify)(nil)
	_ sms.RemoteChecker     = (*TwilioVerify)(nil)
	_ sms.CodeLengthLimiter = (*TwilioVerify)(nil)
	_ sms.CheckLimiter      = (*TwilioVerify)(nil)
	_ sms.Caller            = (*TwilioVerify)(nil)
)
