package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
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
	caddy.RegisterModule(Webhook{})
}

// Webhook sends codes through any HTTP SMS gateway: one request whose URL
// and body are templates holding {phone} (E.164), {phone_digits} (no
// '+'), {message} (the whole SMS text) and {code}. phone_otp makes and
// checks the code.
//
// Every option may also hold {env.*} and {file.*} placeholders, which are
// resolved once at start-up.
type Webhook struct {
	// URL is the gateway's absolute http or https URL. Placeholders in
	// it are query-escaped. Required.
	URL string `json:"url,omitempty"`

	// Method is the HTTP method. Default: POST.
	Method string `json:"method,omitempty"`

	// Headers are sent with every request, e.g. an Authorization header
	// from {env.SMS_TOKEN}. They are never logged.
	Headers http.Header `json:"headers,omitempty"`

	// Body is the request body. Placeholders are JSON-escaped in a JSON
	// body (so write them inside quotes), form-encoded in a form body.
	// Without a Content-Type header, a body starting with '{' or '['
	// is sent as application/json, any other as
	// application/x-www-form-urlencoded. Default: none.
	Body string `json:"body,omitempty"`

	// Success lists the statuses that mean the gateway took the message.
	// Default: any 2xx.
	Success []int `json:"success,omitempty"`

	// Timeout bounds each call to the gateway. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client *Client
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Webhook) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".webhook",
		New: func() caddy.Module { return new(Webhook) },
	}
}

// unknownPlaceholder finds what is left of a placeholder in the URL once
// phone_otp's own are set aside: most likely a typo.
var unknownPlaceholder = regexp.MustCompile(`\{[^{}]*\}`)

// Provision resolves placeholders, checks the options and sets up the
// client.
func (p *Webhook) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	repl := caddy.NewReplacer()
	// The URL and body keep phone_otp's placeholders for each message;
	// only the known ones ({env.*}, {file.*}) are resolved now.
	rawURL := strings.TrimSpace(repl.ReplaceKnown(p.URL, ""))
	if rawURL == "" {
		return errors.New("webhook: url is required (empty after placeholders were resolved)")
	}
	rest := strings.NewReplacer(Phone, "", PhoneDigits, "", Text, "", Code, "").Replace(rawURL)
	if ph := unknownPlaceholder.FindString(rest); ph != "" {
		return fmt.Errorf("webhook: url: unrecognized placeholder %s", ph)
	}
	var method string
	if err := caddysms.ResolveOptions("webhook", []caddysms.Option{{Name: "method", Value: p.Method, Default: http.MethodPost, Dst: &method}}); err != nil {
		return err
	}
	header := make(http.Header, len(p.Headers))
	for k, vs := range p.Headers {
		for _, v := range vs {
			var out string
			// The value may be a secret: the error names the header only.
			if err := caddysms.ResolveOptions("webhook", []caddysms.Option{{Name: "header " + k, Value: v, Dst: &out}}); err != nil {
				return err
			}
			header.Add(k, out)
		}
	}
	timeout, err := caddysms.TimeoutOrDefault("webhook", p.Timeout)
	if err != nil {
		return err
	}
	p.client = &Client{
		URL: rawURL, Method: method, Header: header, Body: repl.ReplaceKnown(p.Body, ""),
		Success: p.Success, Version: caddysms.ModuleVersion(), HTTPClient: NewHTTPClient(timeout),
	}
	if err := p.client.Check(); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	u, _ := url.Parse(rawURL) // Check parsed it
	caddysms.WarnPlainHTTP("webhook", u, p.logger)
	names := make([]string, 0, len(header))
	for k := range header {
		names = append(names, k)
	}
	slices.Sort(names)
	p.logger.Info("webhook provider ready",
		// Not the path or the query: either may hold a key.
		zap.String("url", u.Scheme+"://"+u.Host),
		zap.String("method", method),
		zap.Strings("headers", names),
		zap.String("content_type", p.client.ContentType()),
		zap.Ints("success", p.Success),
		zap.Duration("timeout", timeout))
	return nil
}

// Send fills the templates with m and calls the gateway.
func (p *Webhook) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	const op = "send"
	if p.client == nil {
		return sms.Result{}, caddysms.NotProvisioned("webhook", op)
	}
	if err := p.client.Send(ctx, Message{Phone: m.Phone, Text: m.Text, Code: m.Code}); err != nil {
		return sms.Result{}, caddysms.ClientError("webhook", op, m.Phone, m.Code, err)
	}
	p.logger.Debug("webhook accepted the message", zap.String("phone", sms.MaskPhone(m.Phone)))
	return sms.Result{}, nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms webhook {
//	    url     https://sms.example.com/send
//	    method  POST
//	    header  Authorization "Bearer {env.SMS_TOKEN}"
//	    header  ...
//	    body    `{"to":"{phone}","text":"{message}"}`
//	    success 200 201 202
//	    timeout 10s
//	}
func (p *Webhook) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddysms.ParseBlock(d, "webhook", map[string]caddysms.BlockOption{
		"url":  caddysms.StringOpt("webhook", &p.URL),
		"body": caddysms.StringOpt("webhook", &p.Body),
		"method": func(d *caddyfile.Dispenser) error {
			a, err := caddysms.Args(d, "webhook", 1)
			if err == nil && !ValidMethod(a[0]) {
				err = d.Errf("webhook method '%s' is not an upper-case HTTP method", a[0])
			}
			if err == nil {
				p.Method = a[0]
			}
			return err
		},
		"header": func(d *caddyfile.Dispenser) error {
			a, err := caddysms.Args(d, "webhook", 2)
			if err != nil {
				return err
			}
			if !validHeaderName(a[0]) {
				return d.Errf("webhook header name '%s' is not a valid HTTP header name", a[0])
			}
			if p.Headers == nil {
				p.Headers = make(http.Header)
			}
			p.Headers.Add(a[0], a[1])
			return nil
		},
		"success": func(d *caddyfile.Dispenser) error {
			a, err := caddysms.Args(d, "webhook", 0)
			if err != nil {
				return err
			}
			for _, s := range a {
				n, err := strconv.Atoi(s)
				if err != nil || n < 100 || n > 599 {
					return d.Errf("webhook success status '%s' is not an HTTP status", s)
				}
				p.Success = append(p.Success, n)
			}
			return nil
		},
		"timeout": caddysms.TimeoutOpt("webhook", &p.Timeout),
	}, "header")
}

// validHeaderName reports whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	})
}

// Interface guards
var (
	_ caddy.Module          = (*Webhook)(nil)
	_ caddy.Provisioner     = (*Webhook)(nil)
	_ caddyfile.Unmarshaler = (*Webhook)(nil)
	_ sms.Provider          = (*Webhook)(nil)
)
