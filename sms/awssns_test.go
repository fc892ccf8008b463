package sms

import (
	"context"
	"net/url"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestAWSSNSCaddyfileAndProvision(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_REGION", "")
	var p AWSSNS
	parsed(t, &p, "aws_sns {\n region us-east-1\n sender_id MyBrand\n sms_type Promotional\n timeout 2s\n}")
	if p.Region != "us-east-1" || p.SenderID != "MyBrand" || p.SMSType != "Promotional" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(AWSSNS) }, optionErrors("aws_sns", "region", "topic_arn"))
	t.Setenv("SNS_TEST_SECRET", "s3cret")
	provisionErrors(t, func() AWSSNS {
		return AWSSNS{Region: "eu-west-1", AccessKeyID: "AKIATEST", SecretAccessKey: "{env.SNS_TEST_SECRET}"}
	}, []provisionCase[*AWSSNS]{
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
	sent(t, &p, "mid-1")
	srv.Answer(400, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: PhoneNumber Reason: +12015550123 is not valid to publish to</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
	refused(t, &p, "aws_sns", func(e *Error) bool { return e.Code == "InvalidParameter" })
	var unset AWSSNS
	if _, err := unset.Send(context.Background(), Message{Phone: "+12015550123", Text: "t"}); !Definite(err) {
		t.Errorf("unprovisioned: %v", err)
	}
}
