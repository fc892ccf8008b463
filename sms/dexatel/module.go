package dexatel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms"
)

func init() {
	caddy.RegisterModule(Dexatel{})
}

// Dexatel's Verify API takes codes of 4 to 8 digits.
const (
	dexatelMinCode = 4
	dexatelMaxCode = 8
)

// Dexatel sends codes through Dexatel's Verify API
// (https://docs.dexatel.com). With `check local` (the default) phone_otp
// makes the code and Dexatel only delivers it; with `check remote`
// Dexatel makes the code and phone_otp asks Dexatel whether what the
// visitor typed matches. Either way phone_otp's own expiry, attempt
// counting and blocking apply.
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type Dexatel struct {
	// APIKey is the Dexatel API key, sent as the X-Dexatel-Key header.
	// Required; keep it out of the config with {env.DEXATEL_API_KEY}.
	APIKey string `json:"api_key,omitempty"`

	// Sender is the sender name or number the SMS comes from, as
	// registered with Dexatel. Required.
	Sender string `json:"sender,omitempty"`

	// Template is the id of a Dexatel template whose text holds {code}.
	// Required.
	Template string `json:"template,omitempty"`

	// Channel is Dexatel's delivery channel, one its Verify API lists:
	// SMS, VIBER, WHATSAPP, VOICE (a call that reads the template) or
	// TELEGRAM. The template must be one made for that channel (Dexatel
	// refuses others with 1628). Default: SMS.
	Channel string `json:"channel,omitempty"`

	// VoiceTemplate is the id of a Dexatel VOICE template whose text holds
	// {code}, for "Call me instead": with it, the code page offers a call,
	// which Dexatel makes on its VOICE channel (and dexatel can be the
	// `call` provider of another). Write the template to read
	// the code twice ("Your code is {code}. I repeat: {code}."). Default:
	// none, no calls.
	VoiceTemplate string `json:"voice_template,omitempty"`

	// Endpoint is the API base URL, an absolute http or https URL.
	// Default: https://api.dexatel.com.
	Endpoint string `json:"endpoint,omitempty"`

	// CheckMode is who makes and checks codes: "local" (phone_otp makes the
	// code and sends it in data.code) or "remote" (Dexatel makes a code of
	// the configured length and phone_otp checks it with Dexatel).
	// Default: local.
	CheckMode string `json:"check,omitempty"`

	// Timeout bounds each call to Dexatel. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client *Client
	// Resolved copies of the options: the exported fields keep what the
	// admin wrote, so a resolved secret is never marshalled back out.
	sender, template, channel string
	voiceTemplate             string
	remote                    bool
	logger                    *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Dexatel) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".dexatel",
		New: func() caddy.Module { return new(Dexatel) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Dexatel) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var apiKey, endpoint, check string
	if err := caddysms.ResolveOptions("dexatel", []caddysms.Option{
		{Name: "api_key", Value: p.APIKey, Dst: &apiKey, Required: true},
		{Name: "sender", Value: p.Sender, Dst: &p.sender, Required: true},
		{Name: "template", Value: p.Template, Dst: &p.template, Required: true},
		{Name: "channel", Value: p.Channel, Default: "SMS", Dst: &p.channel},
		{Name: "voice_template", Value: p.VoiceTemplate, Dst: &p.voiceTemplate},
		{Name: "endpoint", Value: p.Endpoint, Default: DefaultEndpoint, Dst: &endpoint},
		{Name: "check", Value: p.CheckMode, Default: "local", Dst: &check},
	}); err != nil {
		return err
	}

	p.channel = strings.ToUpper(p.channel)
	if !slices.Contains(DexatelChannels, p.channel) {
		return fmt.Errorf("dexatel: channel must be one of %s, not %q", strings.Join(DexatelChannels, ", "), p.channel)
	}
	if p.voiceTemplate != "" && p.channel == "VOICE" {
		return errors.New("dexatel: voice_template is for calls instead of another channel; with channel VOICE, codes already go out by call")
	}
	switch check {
	case "local":
		p.remote = false
	case "remote":
		p.remote = true
	default:
		return fmt.Errorf("dexatel: check must be local or remote, not %q", check)
	}

	u, err := caddysms.CheckEndpoint("dexatel", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := caddysms.TimeoutOrDefault("dexatel", p.Timeout)
	if err != nil {
		return err
	}

	p.client = New(apiKey)
	p.client.Endpoint = endpoint
	p.client.Version = caddysms.ModuleVersion()
	p.client.HTTPClient = NewHTTPClient(timeout)

	p.logger.Info("dexatel provider ready",
		zap.String("endpoint", u.Redacted()),
		zap.String("sender", p.sender),
		zap.String("template", p.template),
		zap.String("channel", p.channel),
		zap.Bool("calls", p.voiceTemplate != ""),
		zap.String("check", check),
		zap.Duration("timeout", timeout))
	return nil
}

// Send starts a Dexatel verification for m.Phone. In local mode it sends
// m.Code; in remote mode it asks Dexatel for a code of m.CodeLength digits.
func (p *Dexatel) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "create verification"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("dexatel", op)
	}
	req := CreateRequest{
		Sender:   p.sender,
		Phone:    m.Phone,
		Template: p.template,
		Channel:  p.channel,
	}
	if m.Channel == sms.ChannelCall && p.channel != "VOICE" {
		if p.voiceTemplate == "" {
			return sms.Result{}, &sms.Error{Provider: "dexatel", Op: op, Err: errors.New("a call was asked for, but no voice_template is set"), Unsent: true}
		}
		req.Channel, req.Template = "VOICE", p.voiceTemplate
	}
	if p.remote {
		// Never both code and code_length: Dexatel refuses that (1629).
		if m.CodeLength < dexatelMinCode || m.CodeLength > dexatelMaxCode {
			return sms.Result{}, &sms.Error{Provider: "dexatel", Op: op,
				Err: fmt.Errorf("code length %d outside %d..%d", m.CodeLength, dexatelMinCode, dexatelMaxCode), Unsent: true}
		}
		req.CodeLength = m.CodeLength
	} else {
		// The error states the length only: the code never goes in an error.
		if len(m.Code) < dexatelMinCode || len(m.Code) > dexatelMaxCode {
			return sms.Result{}, &sms.Error{Provider: "dexatel", Op: op,
				Err: fmt.Errorf("code of %d digits outside %d..%d", len(m.Code), dexatelMinCode, dexatelMaxCode), Unsent: true}
		}
		req.Code = m.Code
	}
	v, err := p.client.CreateVerification(ctx, req)
	if err != nil {
		return sms.Result{}, dexatelError(op, err)
	}
	id := v.Ref()
	p.logger.Debug("dexatel verification created",
		zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("id", id))
	if p.remote {
		// Check matches only this verification, so that neither the
		// code a resend replaced nor a used one passes. Without an id
		// to bind it to, the code sent could never pass, and each try
		// would cost the visitor an attempt: the send failed, its
		// outcome unknown as for any 2xx that cannot be read (found by
		// FuzzDexatelAnswer).
		if id == "" {
			return sms.Result{}, &sms.Error{Provider: "dexatel", Op: op, Err: errors.New("response holds no verification id")}
		}
		return sms.Result{ID: id, Ref: id}, nil
	}
	return sms.Result{ID: id}, nil
}

// ChecksRemotely reports whether Dexatel makes and checks the codes.
func (p *Dexatel) ChecksRemotely() bool { return p.remote }

// Check asks Dexatel whether code is the code of the unexpired
// verification ref names: the message_id (or id) Send reported.
func (p *Dexatel) Check(ctx context.Context, phone, code, ref string) (bool, error) {
	const op = "check verification"
	if p.client == nil {
		return false, caddysms.NotProvisioned("dexatel", op)
	}
	ok, err := p.client.CheckVerification(ctx, phone, code, ref)
	if err != nil {
		return false, dexatelError(op, err)
	}
	return ok, nil
}

// CanCall reports whether Dexatel can call: with a voice_template, or
// with channel VOICE, whose template then reads the code.
func (p *Dexatel) CanCall() bool { return p.voiceTemplate != "" || p.channel == "VOICE" }

// CallsByDefault reports whether the channel is VOICE.
func (p *Dexatel) CallsByDefault() bool { return p.channel == "VOICE" }

// DexatelChannels are the channels Dexatel's Verify API delivers a code
// to a phone on (its EMAIL channel reaches no phone).
var DexatelChannels = []string{"SMS", "VIBER", "WHATSAPP", "VOICE", "TELEGRAM"}

// CodeLengthRange reports the code lengths Dexatel accepts.
func (*Dexatel) CodeLengthRange() (min, max int) { return dexatelMinCode, dexatelMaxCode }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms dexatel {
//	    api_key  {env.DEXATEL_API_KEY}
//	    sender   MyBrand
//	    template <template id>
//	    channel  SMS|VIBER|WHATSAPP|VOICE|TELEGRAM
//	    voice_template <VOICE template id>
//	    endpoint https://api.dexatel.com
//	    check    local|remote
//	    timeout  10s
//	}
func (p *Dexatel) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "dexatel", map[string]caddysms.BlockOption{
		"api_key":  caddysms.StringOpt("dexatel", &p.APIKey),
		"sender":   caddysms.StringOpt("dexatel", &p.Sender),
		"template": caddysms.StringOpt("dexatel", &p.Template),
		"channel": func(d *caddyfile.Dispenser) error {
			a, err := caddysms.Args(d, "dexatel", 1)
			if err != nil {
				return err
			}
			if !slices.Contains(DexatelChannels, strings.ToUpper(a[0])) && !strings.Contains(a[0], "{") {
				return d.Errf("dexatel channel must be one of %s, not '%s'", strings.Join(DexatelChannels, ", "), a[0])
			}
			p.Channel = a[0]
			return nil
		},
		"voice_template": caddysms.StringOpt("dexatel", &p.VoiceTemplate),
		"endpoint":       caddysms.StringOpt("dexatel", &p.Endpoint),
		"check": func(d *caddyfile.Dispenser) error {
			a, err := caddysms.Args(d, "dexatel", 1)
			if err != nil {
				return err
			}
			if a[0] != "local" && a[0] != "remote" {
				return d.Errf("dexatel check must be local or remote, not '%s'", a[0])
			}
			p.CheckMode = a[0]
			return nil
		},
		"timeout": caddysms.TimeoutOpt("dexatel", &p.Timeout),
	})
}

// dexatelError turns a client error into an *Error for phone_otp's logs.
func dexatelError(op string, err error) error {
	var de *Error
	if !errors.As(err, &de) {
		return &sms.Error{Provider: "dexatel", Op: op, Err: err}
	}
	e := &sms.Error{Provider: "dexatel", Op: de.Op, Status: de.Status, Message: de.Message, Err: de.Err, Unsent: de.Unsent}
	if de.Code != 0 {
		e.Code = strconv.Itoa(de.Code)
	}
	return e
}

// Interface guards
var (
	_ caddy.Module          = (*Dexatel)(nil)
	_ caddy.Provisioner     = (*Dexatel)(nil)
	_ caddyfile.Unmarshaler = (*Dexatel)(nil)
	_ sms.Provider          = (*Dexatel)(nil)
	_ sms.RemoteChecker     = (*Dexatel)(nil)
	_ sms.CodeLengthLimiter = (*Dexatel)(nil)
	_ sms.Caller            = (*Dexatel)(nil)
)
