// Package awssns sends an SMS to a phone number with Amazon SNS's Publish
// action, through the AWS SDK for Go v2: the SDK signs the request (SigV4)
// and finds the credentials by its standard chain. What this package adds is
// what every phone_otp client has: one call with no retries (a retried
// Publish can text a second code), a capped answer, no redirects, and an
// *sms.Error that tells a definite refusal from an unknown outcome. The
// client knows nothing of Caddy: module.go, the phone_otp provider module
// beside it, wraps it.
package awssns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// Error is every failure the client returns. When SNS refuses, Status is
// its HTTP status and Code and Message its error code and text (e.g.
// InvalidParameter).
type Error = httpapi.Error

// The SMS types SNS knows, for the AWS.SNS.SMS.SMSType attribute.
const (
	Transactional = "Transactional"
	Promotional   = "Promotional"
)

// Options set up a Client.
type Options struct {
	// Region is the AWS region, e.g. us-east-1; the chain's (AWS_REGION,
	// the shared config file) if empty. One is required in the end.
	Region string
	// AccessKeyID and SecretAccessKey, if both set, are static
	// credentials; otherwise the SDK's standard chain finds them
	// (environment, shared files, SSO, web identity, ECS or EC2 roles).
	AccessKeyID, SecretAccessKey string
	// Profile is the shared config profile to read, the default if empty.
	Profile string
	// Endpoint overrides the service's base URL: for tests, or for an
	// SNS-compatible endpoint (a VPC endpoint, LocalStack).
	Endpoint string
	// Version goes into the User-Agent, "caddy-phone-otp/<Version>".
	Version string
	// Timeout bounds each call, credential look-ups included;
	// httpapi.DefaultTimeout if zero.
	Timeout time.Duration
}

// Client publishes SMS. It is safe for concurrent use.
type Client struct {
	api     *sns.Client
	region  string
	timeout time.Duration
}

// New loads the AWS configuration with o and returns a Client. It makes
// no call: credentials are looked up on the first Send.
func New(ctx context.Context, o Options) (*Client, error) {
	opts := []func(*config.LoadOptions) error{
		// One attempt: a Publish retried after a timeout may text a
		// second code, and failover is phone_otp's to decide.
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		// The SDK's own log goes to stderr; its errors come back here.
		config.WithLogger(logging.Nop{}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	switch {
	case o.AccessKeyID != "" && o.SecretAccessKey != "":
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, "")))
	case o.AccessKeyID != "" || o.SecretAccessKey != "":
		return nil, errors.New("access key id and secret access key go together")
	}
	if o.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(o.Endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no region: set region, or AWS_REGION")
	}
	// The SDK's transport, which carries AWS_CA_BUNDLE if one is set, in
	// phone_otp's client: a timeout, no redirects, a capped answer.
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = httpapi.DefaultTimeout
	}
	hc := httpapi.NewHTTPClient(timeout)
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		hc.Transport = bc.GetTransport()
	}
	cfg.HTTPClient = capped{hc: hc, version: o.Version}
	return &Client{api: sns.NewFromConfig(cfg), region: cfg.Region, timeout: timeout}, nil
}

// Region is the region the client publishes in.
func (c *Client) Region() string { return c.region }

// Message is one SMS to publish.
type Message struct {
	// To is the destination in E.164 form.
	To   string
	Text string
	// SenderID is the alphanumeric sender id, where the destination
	// country supports one; none if empty.
	SenderID string
	// SMSType is Transactional or Promotional; the account's default if
	// empty.
	SMSType string
}

// Send publishes m to its phone number and returns SNS's message id.
func (c *Client) Send(ctx context.Context, m Message) (string, error) {
	const op = "publish"
	caller := httpapi.Caller{Provider: "aws_sns"}
	to, err := httpapi.E164(m.To)
	if err != nil {
		return "", caller.Reject(op, err)
	}
	if m.Text == "" {
		return "", caller.Reject(op, errors.New("text is needed"))
	}
	attrs := map[string]types.MessageAttributeValue{}
	if m.SenderID != "" {
		attrs["AWS.SNS.SMS.SenderID"] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.SenderID)}
	}
	if m.SMSType != "" {
		attrs["AWS.SNS.SMS.SMSType"] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.SMSType)}
	}
	in := &sns.PublishInput{PhoneNumber: aws.String(to), Message: aws.String(m.Text)}
	if len(attrs) > 0 {
		in.MessageAttributes = attrs
	}
	// The timeout covers the credential look-up too (an EC2 or ECS role,
	// SSO), which does not go through the client's own HTTP client.
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.api.Publish(ctx, in)
	if err != nil {
		return "", classify(op, err)
	}
	if out.MessageId == nil || *out.MessageId == "" {
		return "", caller.Lacks(op, http.StatusOK, "MessageId")
	}
	return *out.MessageId, nil
}

// classify turns the SDK's error into an *Error: SNS's answer (status,
// code, message) if one came, else the transport error if the call got
// that far. Anything else (no credentials, a signing failure) says
// nothing of whether a request left, so it stays an unknown outcome.
func classify(op string, err error) error {
	e := &Error{Provider: "aws_sns", Op: op}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.Status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		// SNS's answer; its text is in Message, where it is masked.
		e.Code, e.Message = api.ErrorCode(), api.ErrorMessage()
		return e
	}
	var ue *url.Error
	switch {
	case errors.As(err, &ue):
		e.Err = httpapi.Redact(ue)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		e.Err = err
	default:
		// The SDK's own text: names the operation and the cause, never
		// the credentials.
		e.Err = errors.New(err.Error())
	}
	return e
}

// capped is the SDK's HTTP client: it puts phone_otp in the User-Agent
// (which SigV4 does not sign) and caps how much of an answer is read.
type capped struct {
	hc      *http.Client
	version string
}

func (c capped) Do(req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", httpapi.UserAgent(c.version)+" "+req.Header.Get("User-Agent"))
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitBody{r: resp.Body, left: httpapi.MaxBody}
	return resp, nil
}

// limitBody fails a read past the cap, so the SDK reports an unreadable
// answer instead of buffering a huge one.
type limitBody struct {
	r    io.ReadCloser
	left int64
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("response larger than %d bytes", httpapi.MaxBody)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitBody) Close() error { return b.r.Close() }
