package messagebird

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
	caddy.RegisterModule(MessageBird{})
}

// MessageBird sends the message, code and origin-bound line included,
// through Bird (formerly MessageBird): its Channels API, which Bird
// publishes now, or, with `api legacy`, the MessageBird REST API that
// older accounts hold keys for. phone_otp makes and checks the code (Bird
// Verify, which makes its own, is not used: see docs/providers.md).
//
// Every string option may hold {env.*} and {file.*} placeholders, which
// are resolved once at start-up.
type MessageBird struct {
	// AccessKey is a Bird access key, sent as "Authorization: AccessKey
	// <key>". Required; keep it out of the config with
	// {env.BIRD_ACCESS_KEY}.
	AccessKey string `json:"access_key,omitempty"`

	// API is "channels" (default: Bird's Channels API, which needs
	// workspace_id and channel_id) or "legacy" (the MessageBird REST
	// API, which needs originator).
	API string `json:"api,omitempty"`

	// WorkspaceID is the Bird workspace of the SMS channel (channels).
	WorkspaceID string `json:"workspace_id,omitempty"`

	// ChannelID is the installed SMS channel to send from (channels).
	ChannelID string `json:"channel_id,omitempty"`

	// Originator is the sender, a number or an alphanumeric name of up
	// to 11 characters (legacy).
	Originator string `json:"originator,omitempty"`

	// Endpoint is the API base URL, an absolute http or https URL.
	// Default: https://api.bird.com, or https://rest.messagebird.com
	// with `api legacy`.
	Endpoint string `json:"endpoint,omitempty"`

	// Timeout bounds each call to Bird. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client     *Client
	originator string
	logger     *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (MessageBird) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".messagebird",
		New: func() caddy.Module { return new(MessageBird) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *MessageBird) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var key, api, workspace, channel, endpoint string
	if err := caddysms.ResolveOptions("messagebird", []caddysms.Option{
		{Name: "access_key", Value: p.AccessKey, Dst: &key, Required: true},
		{Name: "api", Value: p.API, Default: "channels", Dst: &api},
		{Name: "workspace_id", Value: p.WorkspaceID, Dst: &workspace},
		{Name: "channel_id", Value: p.ChannelID, Dst: &channel},
		{Name: "originator", Value: p.Originator, Dst: &p.originator},
		{Name: "endpoint", Value: p.Endpoint, Dst: &endpoint},
	}); err != nil {
		return err
	}
	switch api {
	case "channels":
		if workspace == "" || channel == "" {
			return fmt.Errorf("messagebird: workspace_id and channel_id are required (or api legacy)")
		}
		if p.originator != "" {
			return fmt.Errorf("messagebird: originator is for api legacy; the Channels API sends from the channel's number")
		}
		if endpoint == "" {
			endpoint = ChannelsEndpoint
		}
	case "legacy":
		if workspace != "" || channel != "" {
			return fmt.Errorf("messagebird: workspace_id and channel_id are for api channels")
		}
		if p.originator == "" {
			return fmt.Errorf("messagebird: originator is required with api legacy")
		}
		if endpoint == "" {
			endpoint = LegacyEndpoint
		}
	default:
		return fmt.Errorf("messagebird: api must be channels or legacy, not %q", api)
	}
	u, err := caddysms.CheckEndpoint("messagebird", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := caddysms.TimeoutOrDefault("messagebird", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &Client{AccessKey: key, WorkspaceID: workspace, ChannelID: channel, Endpoint: endpoint,
		Version: caddysms.ModuleVersion(), HTTPClient: NewHTTPClient(timeout)}
	p.logger.Info("messagebird provider ready",
		zap.String("api", api),
		zap.String("endpoint", u.Redacted()),
		zap.String("channel_id", channel),
		zap.String("originator", p.originator),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *MessageBird) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "send message"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("messagebird", op)
	}
	id, err := p.client.Send(ctx, Message{Originator: p.originator, To: m.Phone, Text: m.Text})
	if err != nil {
		return sms.Result{}, caddysms.ClientError("messagebird", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("messagebird message sent", zap.String("phone", sms.MaskPhone(m.Phone)), zap.String("id", id))
	return sms.Result{ID: id}, nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms messagebird {
//	    access_key   {env.BIRD_ACCESS_KEY}
//	    api          channels
//	    workspace_id {env.BIRD_WORKSPACE_ID}
//	    channel_id   {env.BIRD_CHANNEL_ID}
//	    originator   MyBrand
//	    endpoint     https://api.bird.com
//	    timeout      10s
//	}
func (p *MessageBird) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "messagebird", map[string]caddysms.BlockOption{
		"access_key":   caddysms.StringOpt("messagebird", &p.AccessKey),
		"api":          caddysms.StringOpt("messagebird", &p.API),
		"workspace_id": caddysms.StringOpt("messagebird", &p.WorkspaceID),
		"channel_id":   caddysms.StringOpt("messagebird", &p.ChannelID),
		"originator":   caddysms.StringOpt("messagebird", &p.Originator),
		"endpoint":     caddysms.StringOpt("messagebird", &p.Endpoint),
		"timeout":      caddysms.TimeoutOpt("messagebird", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*MessageBird)(nil)
	_ caddy.Provisioner     = (*MessageBird)(nil)
	_ caddyfile.Unmarshaler = (*MessageBird)(nil)
	_ sms.Provider          = (*MessageBird)(nil)
)
