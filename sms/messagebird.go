package sms

import (
	"context"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms/messagebird"
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

	client     *messagebird.Client
	originator string
	logger     *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (MessageBird) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  Namespace + ".messagebird",
		New: func() caddy.Module { return new(MessageBird) },
	}
}

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *MessageBird) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	var key, api, workspace, channel, endpoint string
	if err := resolveOptions("messagebird", []option{
		{"access_key", p.AccessKey, "", &key, true},
		{"api", p.API, "channels", &api, false},
		{"workspace_id", p.WorkspaceID, "", &workspace, false},
		{"channel_id", p.ChannelID, "", &channel, false},
		{"originator", p.Originator, "", &p.originator, false},
		{"endpoint", p.Endpoint, "", &endpoint, false},
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
			endpoint = messagebird.ChannelsEndpoint
		}
	case "legacy":
		if workspace != "" || channel != "" {
			return fmt.Errorf("messagebird: workspace_id and channel_id are for api channels")
		}
		if p.originator == "" {
			return fmt.Errorf("messagebird: originator is required with api legacy")
		}
		if endpoint == "" {
			endpoint = messagebird.LegacyEndpoint
		}
	default:
		return fmt.Errorf("messagebird: api must be channels or legacy, not %q", api)
	}
	u, err := checkEndpoint("messagebird", endpoint, p.logger)
	if err != nil {
		return err
	}
	timeout, err := timeoutOrDefault("messagebird", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &messagebird.Client{AccessKey: key, WorkspaceID: workspace, ChannelID: channel, Endpoint: endpoint,
		Version: moduleVersion(), HTTPClient: messagebird.NewHTTPClient(timeout)}
	p.logger.Info("messagebird provider ready",
		zap.String("api", api),
		zap.String("endpoint", u.Redacted()),
		zap.String("channel_id", channel),
		zap.String("originator", p.originator),
		zap.Duration("timeout", timeout))
	return nil
}

// Send sends m.Text to m.Phone.
func (p *MessageBird) Send(ctx context.Context, m Message) (Result, error) {
	const op = "send message"
	if p.client == nil {
		return Result{}, notProvisioned("messagebird", op)
	}
	id, err := p.client.Send(ctx, messagebird.Message{Originator: p.originator, To: m.Phone, Text: m.Text})
	if err != nil {
		return Result{}, clientError("messagebird", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("messagebird message sent", zap.String("phone", MaskPhone(m.Phone)), zap.String("id", id))
	return Result{ID: id}, nil
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
	return parseBlock(d, "messagebird", map[string]blockOption{
		"access_key":   stringOpt("messagebird", &p.AccessKey),
		"api":          stringOpt("messagebird", &p.API),
		"workspace_id": stringOpt("messagebird", &p.WorkspaceID),
		"channel_id":   stringOpt("messagebird", &p.ChannelID),
		"originator":   stringOpt("messagebird", &p.Originator),
		"endpoint":     stringOpt("messagebird", &p.Endpoint),
		"timeout":      timeoutOpt("messagebird", &p.Timeout),
	})
}

// Interface guards
var (
	_ caddy.Module          = (*MessageBird)(nil)
	_ caddy.Provisioner     = (*MessageBird)(nil)
	_ caddyfile.Unmarshaler = (*MessageBird)(nil)
	_ Provider              = (*MessageBird)(nil)
)
