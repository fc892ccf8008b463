package awssns

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
	caddy.RegisterModule(AWSSNS{})
}

// AWSSNS sends the message, code and origin-bound line included, as an
// SMS with Amazon SNS's Publish to a phone number, through the AWS SDK
// for Go v2 (which signs the request). phone_otp makes and checks the
// code.
//
// Credentials come from the SDK's standard chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, the shared config files and profile, SSO, web
// identity, the ECS or EC2 role) unless access_key_id and
// secret_access_key are set. The identity needs sns:Publish.
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type AWSSNS struct {
	// Region is the AWS region that sends, e.g. us-east-1. Default: the
	// chain's (AWS_REGION, the profile); one is required.
	Region string `json:"region,omitempty"`

	// AccessKeyID is a static access key id, with secret_access_key.
	// Leave both empty to use the standard credential chain.
	AccessKeyID string `json:"access_key_id,omitempty"`

	// SecretAccessKey is the static key's secret; keep it out of the
	// config with {env.AWS_SECRET_ACCESS_KEY}.
	SecretAccessKey string `json:"secret_access_key,omitempty"`

	// Profile is the shared config profile to read. Default: the
	// default profile (or AWS_PROFILE).
	Profile string `json:"profile,omitempty"`

	// SenderID is the alphanumeric sender id (AWS.SNS.SMS.SenderID),
	// where the destination country supports one. Optional.
	SenderID string `json:"sender_id,omitempty"`

	// SMSType is Transactional or Promotional (AWS.SNS.SMS.SMSType).
	// Default: Transactional, which SNS routes for reliability, as a
	// code needs.
	SMSType string `json:"sms_type,omitempty"`

	// Endpoint overrides the SNS base URL, an absolute http or https
	// URL: for tests, or an SNS-compatible endpoint (a VPC endpoint,
	// LocalStack). Default: the region's SNS endpoint.
	Endpoint string `json:"endpoint,omitempty"`

	// Timeout bounds each call to SNS, credential look-ups included.
	// Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client            *Client
	senderID, smsType string
	logger            *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (AWSSNS) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".aws_sns",
		New: func() caddy.Module { return new(AWSSNS) },
	}
}

// Provision resolves placeholders, checks the options and loads the AWS
// configuration. It makes no call to AWS.
func (p *AWSSNS) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var region, key, secret, profile, endpoint string
	if err := caddysms.ResolveOptions("aws_sns", []caddysms.Option{
		{Name: "region", Value: p.Region, Dst: &region},
		{Name: "access_key_id", Value: p.AccessKeyID, Dst: &key},
		{Name: "secret_access_key", Value: p.SecretAccessKey, Dst: &secret},
		{Name: "profile", Value: p.Profile, Dst: &profile},
		{Name: "sender_id", Value: p.SenderID, Dst: &p.senderID},
		{Name: "sms_type", Value: p.SMSType, Default: Transactional, Dst: &p.smsType},
		{Name: "endpoint", Value: p.Endpoint, Dst: &endpoint},
	}); err != nil {
		return err
	}
	if p.smsType != Transactional && p.smsType != Promotional {
		return fmt.Errorf("aws_sns: sms_type must be Transactional or Promotional, not %q", p.smsType)
	}
	if (key == "") != (secret == "") {
		return fmt.Errorf("aws_sns: access_key_id and secret_access_key go together")
	}
	shown := "(the region's)"
	if endpoint != "" {
		u, err := caddysms.CheckEndpoint("aws_sns", endpoint, p.logger)
		if err != nil {
			return err
		}
		shown = u.Redacted()
	}
	timeout, err := caddysms.TimeoutOrDefault("aws_sns", p.Timeout)
	if err != nil {
		return err
	}
	p.client, err = New(ctx, Options{
		Region: region, AccessKeyID: key, SecretAccessKey: secret, Profile: profile,
		Endpoint: endpoint, Version: caddysms.ModuleVersion(), Timeout: timeout,
	})
	if err != nil {
		return fmt.Errorf("aws_sns: %w", err)
	}
	p.logger.Info("aws_sns provider ready",
		zap.String("region", p.client.Region()),
		zap.String("endpoint", shown),
		zap.Bool("static_credentials", key != ""),
		zap.String("sms_type", p.smsType),
		zap.Duration("timeout", timeout))
	return nil
}

// Send publishes m.Text to m.Phone.
func (p *AWSSNS) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "publish"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("aws_sns", op)
	}
	id, err := p.client.Send(ctx, Message{To: m.Phone, Text: m.Text, SenderID: p.senderID, SMSType: p.smsType})
	if err != nil {
		return sms.Result{}, caddysms.ClientError("aws_sns", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("aws_sns message published", zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("id", id))
	return sms.Result{ID: id}, nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms aws_sns {
//	    region            us-east-1
//	    access_key_id     {env.AWS_ACCESS_KEY_ID}
//	    secret_access_key {env.AWS_SECRET_ACCESS_KEY}
//	    profile           otp
//	    sender_id         MyBrand
//	    sms_type          Transactional
//	    endpoint          https://sns.us-east-1.amazonaws.com
//	    timeout           10s
//	}
func (p *AWSSNS) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "aws_sns", map[string]caddysms.BlockOption{
		"region":            caddysms.StringOpt("aws_sns", &p.Region),
		"access_key_id":     caddysms.StringOpt("aws_sns", &p.AccessKeyID),
		"secret_access_key": caddysms.StringOpt("aws_sns", &p.SecretAccessKey),
		"profile":           caddysms.StringOpt("aws_sns", &p.Profile),
		"sender_id":         caddysms.StringOpt("aws_sns", &p.SenderID),
		"sms_type":          caddysms.StringOpt("aws_sns", &p.SMSType),
		"endpoint":          caddysms.StringOpt("aws_sns", &p.Endpoint),
		"timeout":           caddysms.TimeoutOpt("aws_sns", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*AWSSNS)(nil)
	_ caddy.Provisioner     = (*AWSSNS)(nil)
	_ caddyfile.Unmarshaler = (*AWSSNS)(nil)
	_ sms.Provider          = (*AWSSNS)(nil)
)
