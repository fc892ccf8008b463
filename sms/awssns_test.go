package sms

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestAWSSNSCaddyfileAndProvision(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_REGION", "")
	var p AWSSNS
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("aws_sns {\n region us-east-1\n sender_id MyBrand\n sms_type Promotional\n timeout 2s\n}")); err != nil {
		t.Fatal(err)
	}
	if p.Region != "us-east-1" || p.SenderID != "MyBrand" || p.SMSType != "Promotional" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(AWSSNS) }, []struct{ name, input, want string }{
		{"unknown option", "aws_sns {\n region us-east-1\n topic_arn x\n}", "Testfile:3"},
		{"duplicate", "aws_sns {\n region a\n region b\n}", "already specified"},
		{"two arguments", "aws_sns {\n sender_id a b\n}", "Testfile:2"},
	})
	t.Setenv("SNS_TEST_SECRET", "s3cret")
	provisionErrors(t, func() AWSSNS {
		return AWSSNS{Region: "eu-west-1", AccessKeyID: "AKIATEST", SecretAccessKey: "{env.SNS_TEST_SECRET}"}
	}, []struct {
		name    string
		edit    func(*AWSSNS)
		wantErr string
	}{
		{"ok", func(*AWSSNS) {}, ""},
		{"the chain's credentials", func(p *AWSSNS) { p.AccessKeyID, p.SecretAccessKey = "", "" }, ""},
		{"no region", func(p *AWSSNS) { p.Region = "" }, "no region"},
		{"key without secret", func(p *AWSSNS) { p.SecretAccessKey = "{env.SNS_TEST_UNSET}" }, "go together"},
		{"bad sms_type", func(p *AWSSNS) { p.SMSType = "transactional" }, "sms_type must be"},
		{"bad endpoint", func(p *AWSSNS) { p.Endpoint = "https://u:s3cret@sns.example" }, "credentials"},
		{"unknown profile", func(p *AWSSNS) { p.Profile = "nope" }, "nope"},
	})
}

// TestAWSSNSSend goes through the module to the fake: the attributes it
// adds, and a refusal with the phone masked.
func TestAWSSNSSend(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	srv := fakegw.SNSAPI(t, 200, fakegw.SNSPublished("mid-1"), func(t *testing.T, f url.Values) {
		if a := fakegw.SNSAttributes(f); a["AWS.SNS.SMS.SMSType"] != "Transactional" || a["AWS.SNS.SMS.SenderID"] != "MyBrand" {
			t.Errorf("attributes %v", a)
		}
	})
	p := AWSSNS{Region: fakegw.SNSRegion, AccessKeyID: fakegw.SNSAccessKey, SecretAccessKey: fakegw.SNSSecretKey, SenderID: "MyBrand", Endpoint: srv.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"}); err != nil || res.ID != "mid-1" || res.Remote {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	srv.Answer(400, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: PhoneNumber Reason: +12015550123 is not valid to publish to</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
	_, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"})
	var e *Error
	if !errors.As(err, &e) || e.Provider != "aws_sns" || e.Code != "InvalidParameter" || !Definite(err) {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "5550123") {
		t.Errorf("error %q holds the whole phone", err)
	}
	var unset AWSSNS
	if _, err := unset.Send(context.Background(), Message{Phone: "+12015550123", Text: "t"}); !Definite(err) {
		t.Errorf("unprovisioned: %v", err)
	}
}
