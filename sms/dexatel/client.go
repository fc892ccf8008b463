// Package dexatel is a small client for Dexatel's Verify API. The client
// knows nothing of Caddy: module.go, the phone_otp provider module beside
// it, wraps it, and anything else may use the client on its own.
package dexatel

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// DefaultEndpoint is Dexatel's API base URL.
const DefaultEndpoint = "https://api.dexatel.com"

// DefaultTimeout bounds one call when the caller does not set HTTPClient.
const DefaultTimeout = 10 * time.Second

// TimeLayout is how Dexatel writes create_date and expire_date, in UTC.
const TimeLayout = "2006-01-02 15:04:05"

// maxBody caps how much of a response is read: Dexatel's answers are a few
// hundred bytes, and a misbehaving endpoint must not cost us memory.
const maxBody = 64 << 10

const verificationsPath = "/v1/verifications"

// Client calls Dexatel's Verify API. Its fields may be set after New and
// before first use; a Client is safe for concurrent use once set up.
type Client struct {
	// APIKey is sent as X-Dexatel-Key on every request.
	APIKey string
	// Endpoint is the API base URL, DefaultEndpoint if empty.
	Endpoint string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// HTTPClient makes the calls. New sets one with DefaultTimeout that
	// does not follow redirects, so the API key never travels to
	// another host; a replacement should do the same.
	HTTPClient *http.Client
	// Now is the clock used to judge expire_date; time.Now if nil.
	Now func() time.Time
}

// New returns a Client for apiKey with the default endpoint and timeout.
func New(apiKey string) *Client {
	return &Client{
		APIKey:     apiKey,
		Endpoint:   DefaultEndpoint,
		HTTPClient: NewHTTPClient(DefaultTimeout),
	}
}

// NewHTTPClient returns an *http.Client with the given overall timeout
// that returns redirects as they are instead of following them.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return httpapi.NewHTTPClient(timeout)
}

// CreateRequest is one verification to start. Exactly one of Code and
// CodeLength is sent: Code if set, else CodeLength (Dexatel refuses both
// with error 1629).
type CreateRequest struct {
	Sender string
	// Phone is the destination with country code, with or without '+'.
	Phone string
	// Template is the id of a Dexatel template whose text holds {code}.
	Template string
	// Channel is the delivery channel; "SMS" if empty.
	Channel string
	// Code is the code to send, when the caller made it.
	Code string
	// CodeLength asks Dexatel to make a code of that many digits.
	CodeLength int
}

// Verification is Dexatel's record of one verification.
type Verification struct {
	ID         string `json:"id"`
	AccountID  string `json:"account_id"`
	MessageID  string `json:"message_id"`
	Phone      string `json:"phone"`
	Code       string `json:"code"`
	CreateDate string `json:"create_date"`
	ExpireDate string `json:"expire_date"`
}

// UnmarshalJSON accepts string or numeric ids and codes.
func (v *Verification) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID         flexString `json:"id"`
		AccountID  flexString `json:"account_id"`
		MessageID  flexString `json:"message_id"`
		Phone      flexString `json:"phone"`
		Code       flexString `json:"code"`
		CreateDate string     `json:"create_date"`
		ExpireDate string     `json:"expire_date"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*v = Verification{
		ID: string(raw.ID), AccountID: string(raw.AccountID),
		MessageID: string(raw.MessageID), Phone: string(raw.Phone),
		Code: string(raw.Code), CreateDate: raw.CreateDate, ExpireDate: raw.ExpireDate,
	}
	return nil
}

// Error is every failure the client returns: either Dexatel answered
// with a non-2xx status (Status, and Code and Message when its body
// held an "errors" list), or the call failed in transport or decoding
// (Err, with Status if an answer came).
type Error struct {
	// Op is "create verification" or "check verification".
	Op string
	// Status is the HTTP status Dexatel answered, 0 if none came.
	Status int
	// Code and Message are the first entry of Dexatel's "errors" list.
	Code    int
	Message string
	// Err is the transport, timeout, decoding or input error, if any.
	Err error
	// Unsent says no request was made: the input was refused here.
	Unsent bool
}

func (e *Error) Error() string {
	s := "dexatel: " + e.Op
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Code != 0 {
		s += fmt.Sprintf(": code %d", e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Digits returns phone without its leading '+', which is how Dexatel
// wants numbers, or an error if what is left is not all digits.
func Digits(phone string) (string, error) { return httpapi.Digits(phone) }

// CreateVerification starts a verification: POST /v1/verifications.
func (c *Client) CreateVerification(ctx context.Context, r CreateRequest) (*Verification, error) {
	const op = "create verification"
	phone, err := Digits(r.Phone)
	if err != nil {
		return nil, &Error{Op: op, Err: err, Unsent: true}
	}
	data := map[string]string{
		"sender":   r.Sender,
		"phone":    phone,
		"template": r.Template,
		"channel":  r.Channel,
	}
	if data["channel"] == "" {
		data["channel"] = "SMS"
	}
	switch {
	case r.Code != "":
		data["code"] = r.Code
	case r.CodeLength > 0:
		data["code_length"] = strconv.Itoa(r.CodeLength)
	default:
		return nil, &Error{Op: op, Err: errors.New("neither code nor code length given"), Unsent: true}
	}
	body, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		return nil, &Error{Op: op, Err: err, Unsent: true}
	}
	status, raw, err := c.do(ctx, op, http.MethodPost, c.url(nil), body)
	if err != nil {
		return nil, err
	}
	list, err := decodeData(raw)
	if err == nil && len(list) == 0 {
		err = errors.New("response holds no verification")
	}
	if err != nil {
		// Dexatel answered 2xx, so it may have sent the SMS: the status
		// goes with the error, which keeps the outcome unknown.
		return nil, &Error{Op: op, Status: status, Err: fmt.Errorf("decode response: %w", err)}
	}
	return &list[0], nil
}

// Ref is what binds a check to the verification CreateVerification
// made: its message_id, or its id when Dexatel gave no message_id.
func (v *Verification) Ref() string {
	if v.MessageID != "" {
		return v.MessageID
	}
	return v.ID
}

// CheckVerification reports whether code is the code of the verification
// ref names (its Ref) and that verification has not expired:
// GET /v1/verifications?phone=…&code=…. Dexatel lists the phone's
// verifications, and other ones may be unexpired too (the one a resend
// replaced, one already used): only the entry whose message_id or id is
// ref, whose phone is phone and whose code is code matches. An empty ref
// matches nothing. An error means Dexatel could not answer, never a wrong
// code.
func (c *Client) CheckVerification(ctx context.Context, phone, code, ref string) (bool, error) {
	const op = "check verification"
	digits, err := Digits(phone)
	if err != nil {
		return false, &Error{Op: op, Err: err, Unsent: true}
	}
	if code == "" || ref == "" {
		return false, nil
	}
	q := url.Values{"phone": {digits}, "code": {code}}
	status, raw, err := c.do(ctx, op, http.MethodGet, c.url(q), nil)
	if err != nil {
		return false, err
	}
	list, err := decodeData(raw)
	if err != nil {
		return false, &Error{Op: op, Status: status, Err: fmt.Errorf("decode response: %w", err)}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	for _, v := range list {
		// The filters are not relied on: an entry of another number,
		// another code or another verification must not count, or a
		// replaced or used code would pass. An entry that does not
		// say its code cannot be told apart, so it does not match.
		if v.MessageID != ref && v.ID != ref {
			continue
		}
		if strings.TrimPrefix(v.Phone, "+") != digits ||
			subtle.ConstantTimeCompare([]byte(v.Code), []byte(code)) != 1 {
			continue
		}
		exp, err := parseTime(v.ExpireDate)
		if err != nil {
			// Fail closed, but say why, rather than call it a wrong code.
			return false, &Error{Op: op, Status: status, Err: err}
		}
		if now().Before(exp) {
			return true, nil
		}
	}
	return false, nil
}

func (c *Client) url(q url.Values) string {
	base := c.Endpoint
	if base == "" {
		base = DefaultEndpoint
	}
	u := strings.TrimRight(base, "/") + verificationsPath
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// do sends one request and returns the status and body of a 2xx answer;
// any other answer becomes an *Error carrying Dexatel's first error entry.
func (c *Client) do(ctx context.Context, op, method, u string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, &Error{Op: op, Err: httpapi.Redact(err), Unsent: true}
	}
	req.Header.Set("X-Dexatel-Key", c.APIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", httpapi.UserAgent(c.Version))

	hc := c.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(DefaultTimeout)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, &Error{Op: op, Err: httpapi.Redact(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return resp.StatusCode, nil, &Error{Op: op, Status: resp.StatusCode, Err: fmt.Errorf("read response: %w", err)}
	}
	if len(raw) > maxBody {
		return resp.StatusCode, nil, &Error{Op: op, Status: resp.StatusCode, Err: fmt.Errorf("response larger than %d bytes", maxBody)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Op: op, Status: resp.StatusCode}
		var eb struct {
			Errors []struct {
				Code    flexString `json:"code"`
				Message string     `json:"message"`
			} `json:"errors"`
		}
		if json.Unmarshal(raw, &eb) == nil && len(eb.Errors) > 0 {
			e.Code, _ = strconv.Atoi(string(eb.Errors[0].Code))
			e.Message = eb.Errors[0].Message
		}
		return resp.StatusCode, nil, e
	}
	return resp.StatusCode, raw, nil
}

// decodeData reads {"data": …} where data is a list, a single object or
// null, and returns it as a list.
func decodeData(raw []byte) ([]Verification, error) {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, err
	}
	d := bytes.TrimSpace(env.Data)
	switch {
	case len(d) == 0 || bytes.Equal(d, []byte("null")):
		return nil, nil
	case d[0] == '[':
		var list []Verification
		err := json.Unmarshal(d, &list)
		return list, err
	case d[0] == '{':
		var v Verification
		if err := json.Unmarshal(d, &v); err != nil {
			return nil, err
		}
		return []Verification{v}, nil
	}
	return nil, errors.New(`"data" is neither a list nor an object`)
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.ParseInLocation(TimeLayout, s, time.UTC); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("unreadable expire_date %.40q", s)
}

// flexString decodes a JSON string or number as its text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	}
	return nil
}
