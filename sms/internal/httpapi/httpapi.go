// Package httpapi is what phone_otp's SMS clients share when they call a
// gateway over HTTP: a client that never follows redirects, the
// User-Agent, a bounded read of the answer, and one error type. It uses
// the standard library only, like the clients built on it.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/sms"
)

// DefaultTimeout bounds one call when the caller sets no HTTP client.
const DefaultTimeout = 10 * time.Second

// MaxBody caps how much of an answer is read: gateways answer in a few
// hundred bytes, and a misbehaving one must not cost us memory.
const MaxBody = 64 << 10

// NewHTTPClient returns an *http.Client with the given overall timeout
// that hands redirects back instead of following them, so credentials
// never travel to another host.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// UserAgent names the plugin and its version on every request.
func UserAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return "caddy-phone-otp/" + version
}

// Error is every failure a client returns; see sms.Error.
type Error = sms.Error

// Definite reports whether err is a definite refusal; see sms.Definite.
func Definite(err error) bool { return sms.Definite(err) }

// Caller makes the calls of one client.
type Caller struct {
	// Provider and Op name the call in errors.
	Provider string
	// Version goes into the User-Agent.
	Version string
	// HTTPClient makes the call; NewHTTPClient(DefaultTimeout) if nil.
	HTTPClient *http.Client
}

// Fail is an *Error for op with no answer from the gateway.
func (c Caller) Fail(op string, err error) *Error {
	return &Error{Provider: c.Provider, Op: op, Err: err}
}

// Reject is an *Error for op refused before any request was made (bad
// input, a client not set up): a definite refusal.
func (c Caller) Reject(op string, err error) *Error {
	return &Error{Provider: c.Provider, Op: op, Err: err, Unsent: true}
}

// Do sends req with the User-Agent set and returns the answer's status
// and at most MaxBody bytes of its body. A transport failure, or an
// answer too large or unreadable, is an *Error.
func (c Caller) Do(op string, req *http.Request) (int, []byte, error) {
	req.Header.Set("User-Agent", UserAgent(c.Version))
	hc := c.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(DefaultTimeout)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, c.Fail(op, Redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return resp.StatusCode, nil, &Error{Provider: c.Provider, Op: op, Status: resp.StatusCode, Err: fmt.Errorf("read response: %w", Redact(err))}
	}
	if len(raw) > MaxBody {
		return resp.StatusCode, nil, &Error{Provider: c.Provider, Op: op, Status: resp.StatusCode, Err: fmt.Errorf("response larger than %d bytes", MaxBody)}
	}
	return resp.StatusCode, raw, nil
}

// Lacks is the *Error for op when a 2xx answer (of status) does not hold
// what, the id the client returns: not definite, since the gateway may
// have taken the message.
func (c Caller) Lacks(op string, status int, what string) *Error {
	return &Error{Provider: c.Provider, Op: op, Status: status, Err: errors.New("response holds no " + what)}
}

// URL is endpoint, or def if endpoint is empty, without its trailing
// slashes, followed by path.
func URL(endpoint, def, path string) string {
	if endpoint == "" {
		endpoint = def
	}
	return strings.TrimRight(endpoint, "/") + path
}

// PostForm builds a POST of form to u with ctx.
func PostForm(ctx context.Context, u string, form url.Values) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, Redact(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// Redact keeps only the scheme and host of the URL in a *url.Error: its
// path, query and credentials may carry a key, a phone number or a code
// (a webhook's URL is a template), none of which may reach a log.
func Redact(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return &url.Error{Op: ue.Op, URL: "(unparsable URL)", Err: ue.Err}
	}
	return &url.Error{Op: ue.Op, URL: (&url.URL{Scheme: u.Scheme, Host: u.Host}).String(), Err: ue.Err}
}

// Digits returns phone without its leading '+', or an error if what is
// left is not 1 to 15 digits.
func Digits(phone string) (string, error) {
	d := strings.TrimPrefix(phone, "+")
	if d == "" || len(d) > 15 {
		return "", errors.New("phone must be 1 to 15 digits with country code")
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", errors.New("phone must be digits with country code")
		}
	}
	return d, nil
}

// E164 returns phone with its leading '+', or an error if it is not one.
func E164(phone string) (string, error) {
	d, err := Digits(phone)
	if err != nil {
		return "", err
	}
	return "+" + d, nil
}

// Is2xx reports whether status is a success.
func Is2xx(status int) bool { return status >= 200 && status <= 299 }

// JSON posts body, JSON-encoded, to u with header (credentials, mostly)
// and decodes a 2xx answer into out. Any other answer is an *Error with
// its Status, and with the Code and Message that parseErr, if set, reads
// from its body. A 2xx answer that does not decode is an *Error with
// Status and Err: the gateway may have taken the message.
func (c Caller) JSON(ctx context.Context, op, u string, header http.Header, body, out any, parseErr func(raw []byte) (code, msg string)) error {
	b, err := json.Marshal(body)
	if err != nil {
		return c.Reject(op, fmt.Errorf("encode request: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return c.Reject(op, Redact(err))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	status, raw, err := c.Do(op, req)
	if err != nil {
		return err
	}
	if !Is2xx(status) {
		e := &Error{Provider: c.Provider, Op: op, Status: status}
		if parseErr != nil {
			e.Code, e.Message = parseErr(raw)
		}
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Provider: c.Provider, Op: op, Status: status, Err: fmt.Errorf("decode response: %w", err)}
	}
	return nil
}

// Bearer is the header of a bearer-token API.
func Bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}
