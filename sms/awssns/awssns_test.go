package awssns

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

func client(t *testing.T, endpoint string) *Client {
	t.Helper()
	// Nothing of the machine's own AWS setup may leak in.
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	c, err := New(context.Background(), Options{
		Region: fakegw.SNSRegion, AccessKeyID: fakegw.SNSAccessKey, SecretAccessKey: fakegw.SNSSecretKey,
		Endpoint: endpoint, Version: "v1.2.3", Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSend(t *testing.T) {
	const text = "123456 is your code\n\n@example.com #123456"
	srv := fakegw.SNSAPI(t, 200, fakegw.SNSPublished("5f2b7c1e-aaaa-5a1b-9c3d-000000000001"), func(t *testing.T, f url.Values) {
		if f.Get("PhoneNumber") != "+12015550123" || f.Get("Message") != text {
			t.Errorf("form %v", f)
		}
		a := fakegw.SNSAttributes(f)
		if len(a) != 2 || a["AWS.SNS.SMS.SenderID"] != "MyBrand" || a["AWS.SNS.SMS.SMSType"] != Transactional {
			t.Errorf("attributes %v", a)
		}
	})
	id, err := client(t, srv.URL()).Send(context.Background(), Message{To: "+12015550123", Text: text, SenderID: "MyBrand", SMSType: Transactional})
	if err != nil || id != "5f2b7c1e-aaaa-5a1b-9c3d-000000000001" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	if auth := srv.Last().Header.Get("Authorization"); strings.Contains(auth, fakegw.SNSSecretKey) {
		t.Errorf("the secret key travelled: %q", auth)
	}

	// Without a sender id or type, no attributes at all.
	bare := fakegw.SNSAPI(t, 200, fakegw.SNSPublished("m2"), func(t *testing.T, f url.Values) {
		if a := fakegw.SNSAttributes(f); len(a) != 0 {
			t.Errorf("attributes %v", a)
		}
	})
	if _, err := client(t, bare.URL()).Send(context.Background(), Message{To: "+12015550123", Text: "t"}); err != nil {
		t.Fatal(err)
	}
}

// TestSendErrors: SNS's error shapes, each as the status and code SNS
// gives it, and whether the send may be refunded.
func TestSendErrors(t *testing.T) {
	snsErr := func(status int, code, msg string) string {
		rec := &recorder{h: http.Header{}}
		fakegw.SNSError(rec, status, code, msg)
		return rec.body.String()
	}
	tests := []struct {
		name, body    string
		status        int
		wantCode      string
		wantMessage   string
		definite      bool
		wantErrDetail bool
	}{
		{"bad number", snsErr(400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: +12015550123 is not valid to publish to"), 400,
			"InvalidParameter", "Invalid parameter: PhoneNumber Reason: +12015550123 is not valid to publish to", true, false},
		{"no such key", snsErr(403, "InvalidClientTokenId", "The security token included in the request is invalid."), 403,
			"InvalidClientTokenId", "The security token included in the request is invalid.", true, false},
		{"not allowed", snsErr(403, "AuthorizationError", "User is not authorized to perform: SNS:Publish"), 403,
			"AuthorizationError", "User is not authorized to perform: SNS:Publish", true, false},
		{"KMS not opted in", snsErr(403, "KMSOptInRequired", "The AWS access key ID needs a subscription for the service"), 403,
			"KMSOptInRequired", "The AWS access key ID needs a subscription for the service", true, false},
		// SNS answers no 402; any 4xx it might is a refusal all the same.
		{"a 402", snsErr(402, "PaymentRequired", "payment required"), 402, "PaymentRequired", "payment required", true, false},
		{"throttled", snsErr(429, "Throttled", "Rate exceeded"), 429, "Throttled", "Rate exceeded", true, false},
		{"internal error", snsErr(500, "InternalError", "Internal failure"), 500, "InternalError", "Internal failure", false, false},
		{"unavailable, HTML", "<html>503</html>", 503, "", "", false, true},
		{"garbage 200", "<PublishResponse><PublishRes", 200, "", "", false, true},
		{"200 without an id", "<PublishResponse><PublishResult></PublishResult></PublishResponse>", 200, "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.SNSAPI(t, tt.status, tt.body, nil)
			_, err := client(t, srv.URL()).Send(context.Background(), Message{To: "+12015550123", Text: "t"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want *Error", err)
			}
			if e.Provider != "aws_sns" || e.Code != tt.wantCode || e.Message != tt.wantMessage || (e.Err != nil) != tt.wantErrDetail {
				t.Errorf("error %+v", e)
			}
			if tt.status != 200 && e.Status != tt.status {
				t.Errorf("status %d, want %d", e.Status, tt.status)
			}
			if got := httpapi.Definite(err); got != tt.definite {
				t.Errorf("Definite(%v) = %v, want %v", err, got, tt.definite)
			}
			if strings.Contains(err.Error(), fakegw.SNSSecretKey) {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}
}

func TestSendTransport(t *testing.T) {
	_, err := client(t, fakegw.Closed()).Send(context.Background(), Message{To: "+12015550123", Text: "t"})
	if err == nil || !httpapi.Definite(err) {
		t.Errorf("refused connection: %v, Definite %v; want a definite refusal", err, httpapi.Definite(err))
	}
	c, err := New(context.Background(), Options{Region: fakegw.SNSRegion, AccessKeyID: "a", SecretAccessKey: "b",
		Endpoint: fakegw.Hang(t), Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Send(context.Background(), Message{To: "+12015550123", Text: "t"})
	if err == nil || httpapi.Definite(err) {
		t.Errorf("timeout: %v, want an unknown outcome", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a hanging SNS took %s with a 100ms timeout: retried?", d)
	}
	// A huge answer is cut, not read whole.
	big := fakegw.NewReply(t, 200, "<PublishResponse>"+strings.Repeat("x", httpapi.MaxBody+10))
	if _, err := client(t, big.URL()).Send(context.Background(), Message{To: "+12015550123", Text: "t"}); err == nil || httpapi.Definite(err) {
		t.Errorf("huge answer: %v", err)
	}
	for _, m := range []Message{{To: "12 ab", Text: "t"}, {To: "+12015550123"}} {
		if _, err := c.Send(context.Background(), m); !httpapi.Definite(err) {
			t.Errorf("%+v: %v, want a definite refusal before any call", m, err)
		}
	}
}

func TestNew(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, err := New(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("no region: %v", err)
	}
	if _, err := New(context.Background(), Options{Region: "us-east-1", AccessKeyID: "a"}); err == nil {
		t.Error("a key id without its secret accepted")
	}
	t.Setenv("AWS_REGION", "ap-south-1")
	c, err := New(context.Background(), Options{})
	if err != nil || c.Region() != "ap-south-1" {
		t.Errorf("region from the chain: %v, %v", c, err)
	}
}

// recorder is a minimal http.ResponseWriter for SNSError.
type recorder struct {
	h    http.Header
	body strings.Builder
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(int)             {}

// TestSendCredentialLookupTimesOut: credentials from the chain (here the
// ECS container endpoint, hanging) are looked up within the timeout, and
// a send that could not get them is not a definite refusal.
func TestSendCredentialLookupTimesOut(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", fakegw.Hang(t)+"/creds")
	srv := fakegw.NewReply(t, 200, fakegw.SNSPublished("m"))
	c, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: srv.URL(), Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Send(context.Background(), Message{To: "+12015550123", Text: "t"})
	if err == nil || httpapi.Definite(err) {
		t.Errorf("hanging credentials: %v, want an unknown outcome", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the credential look-up took %s with a 200ms timeout", d)
	}
	if srv.Last().Method != "" {
		t.Error("published without credentials")
	}
}
