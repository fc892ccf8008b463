// Package webhook sends one-time codes through any HTTP SMS gateway: a
// request whose URL and body are templates holding the phone, the message
// and the code. The client knows nothing of Caddy: module.go, the phone_otp
// provider module beside it, wraps it, and anything else may use the client
// on its own.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// Error is every failure the client returns; a refusal carries only the
// status, since a gateway's answer may echo the message and its code.
type Error = httpapi.Error

// NewHTTPClient returns a client with the given timeout that never
// follows redirects.
var NewHTTPClient = httpapi.NewHTTPClient

// The placeholders the URL and body templates may hold.
const (
	Phone       = "{phone}"        // E.164, with '+'
	PhoneDigits = "{phone_digits}" // the same without '+'
	Text        = "{message}"      // the whole SMS text
	Code        = "{code}"         // the code alone
)

// Content types that change how values are escaped into the body.
const (
	JSON = "application/json"
	Form = "application/x-www-form-urlencoded"
)

// Client calls one gateway. Set its fields, then call Check once; it is
// then safe for concurrent use.
type Client struct {
	// URL is the gateway's absolute http(s) URL. Placeholders in it are
	// query-escaped.
	URL string
	// Method is the HTTP method, POST if empty.
	Method string
	// Header is sent with every request. Content-Type, if absent while a
	// body is set, is JSON for a body starting with '{' or '[' and a form
	// otherwise.
	Header http.Header
	// Body is the request body template; none if empty. Placeholders are
	// JSON-escaped in a JSON body (so they belong inside quotes),
	// form-encoded in a form body, and inserted as they are otherwise.
	Body string
	// Success lists the statuses that mean the gateway took the message;
	// any 2xx if empty. Redirects are never followed.
	Success []int
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls; one with the default timeout that
	// does not follow redirects if nil.
	HTTPClient *http.Client
}

// Message is what fills the templates.
type Message struct {
	Phone string // E.164, with '+'
	Text  string
	Code  string
}

// ContentType is the body's media type: the Content-Type header, or the
// default for the body.
func (c *Client) ContentType() string {
	if ct := c.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	if c.Body == "" {
		return ""
	}
	if b := strings.TrimSpace(c.Body); strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[") {
		return JSON
	}
	return Form
}

// ValidMethod reports whether m is an upper-case method name, such as
// POST or GET.
func ValidMethod(m string) bool {
	return m != "" && !strings.ContainsFunc(m, func(r rune) bool { return r < 'A' || r > 'Z' })
}

func (c *Client) method() string {
	if c.Method == "" {
		return http.MethodPost
	}
	return c.Method
}

// Check reports a URL, method, status or body that cannot work. A JSON
// body must be valid JSON with any message filled in, which catches a
// placeholder written outside quotes.
func (c *Client) Check() error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("url: %v", httpapi.Redact(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("url must be an absolute http or https URL")
	}
	if m := c.method(); !ValidMethod(m) {
		return fmt.Errorf("method %q is not an upper-case HTTP method", m)
	}
	for _, s := range c.Success {
		if s < 100 || s > 599 {
			return fmt.Errorf("success status %d is not an HTTP status", s)
		}
	}
	if c.Body != "" && isJSON(c.ContentType()) {
		// The sample code starts with 0, as one code in ten does: outside
		// quotes, {code} is then no JSON number, so a template that puts
		// it there is refused here rather than failing one send in ten
		// (found by FuzzWebhookBody).
		sample := c.fill(c.Body, Message{Phone: "+12015550123", Text: "a \"quoted\"\nline \\ {code}", Code: "012345"}, escapeJSON)
		if !json.Valid([]byte(sample)) {
			return errors.New(`body is not valid JSON once filled in; placeholders belong inside quotes, as in {"to":"{phone}"}`)
		}
	}
	return nil
}

// Send fills the templates with m and calls the gateway.
func (c *Client) Send(ctx context.Context, m Message) error {
	const op = "send"
	caller := httpapi.Caller{Provider: "webhook", Version: c.Version, HTTPClient: c.HTTPClient}
	if _, err := httpapi.Digits(m.Phone); err != nil {
		return caller.Reject(op, err)
	}
	var body io.Reader
	ct := c.ContentType()
	if c.Body != "" {
		esc := func(s string) string { return s }
		switch {
		case isJSON(ct):
			esc = escapeJSON
		case isForm(ct):
			esc = url.QueryEscape
		}
		body = strings.NewReader(c.fill(c.Body, m, esc))
	}
	req, err := http.NewRequestWithContext(ctx, c.method(), c.fill(c.URL, m, url.QueryEscape), body)
	if err != nil {
		return caller.Reject(op, httpapi.Redact(err))
	}
	for k, vs := range c.Header {
		req.Header[k] = slices.Clone(vs)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	status, _, err := caller.Do(op, req)
	if err != nil {
		return err
	}
	if !c.success(status) {
		// The answer is not kept: a gateway may echo the request, code
		// included, and this error goes to the log.
		return &Error{Provider: "webhook", Op: op, Status: status, Message: "status not counted as success"}
	}
	return nil
}

func (c *Client) success(status int) bool {
	if len(c.Success) == 0 {
		return httpapi.Is2xx(status)
	}
	return slices.Contains(c.Success, status)
}

// fill replaces the placeholders in one pass, so a value holding a
// placeholder's name is never replaced again.
func (c *Client) fill(tpl string, m Message, esc func(string) string) string {
	return strings.NewReplacer(
		Phone, esc(m.Phone),
		PhoneDigits, esc(strings.TrimPrefix(m.Phone, "+")),
		Text, esc(m.Text),
		Code, esc(m.Code),
	).Replace(tpl)
}

// escapeJSON escapes s for the inside of a JSON string.
func escapeJSON(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b[1 : len(b)-1])
}

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

func isJSON(ct string) bool {
	mt := mediaType(ct)
	return mt == JSON || strings.HasSuffix(mt, "+json")
}

func isForm(ct string) bool { return mediaType(ct) == Form }
