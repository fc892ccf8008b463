package awssns

import (
	"context"
	"net/url"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestAWSSNSCaddyfileAndProvision(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_REGION", "")
	var p AWSSNS
	caddysmstest.Parsed(t, &p, "aws_sns {\n region us-east-1\n sender_id MyBrand\n sms_type Promotional\n timeout 2s\n}")
	if p.Region != "us-east-1" || p.SenderID != "MyBrand" || p.SMSType != "Promotional" {
		t.Errorf("parsed %+v", p)
	}
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(AWSSNS) }, caddysmstest.OptionErrors("aws_sns", "region", "topic_arn"))
	t.Setenv("SNS_TEST_SECRET", "s3cret")
	caddysmstest.ProvisionErrors(t, func() AWSSNS {
		return AWSSNS{Region: "eu-west-1", AccessKeyID: "AKIATEST", SecretAccessKey: "{env.SNS_TEST_SECRET}"}
	}, []caddysmstest.ProvisionCase[*AWSSNS]{
		{Name: "ok", Edit: func(*AWSSNS) {}},
		{Name: "the chain's credentials", Edit: func(p *AWSSNS) { p.AccessKeyID, p.SecretAccessKey = "", "" }},
		{Name: "no region", Edit: func(p *AWSSNS) { p.Region = "" }, WantErr: "no region"},
		{Name: "key without secret", Edit: func(p *AWSSNS) { p.SecretAccessKey = "{env.SNS_TEST_UNSET}" }, WantErr: "go together"},
		{Name: "bad sms_type", Edit: func(p *AWSSNS) { p.SMSType = "transactional" }, WantErr: "sms_type must be"},
		{Name: "bad endpoint", Edit: func(p *AWSSNS) { p.Endpoint = "https://u:s3cret@sns.example" }, WantErr: "credentials"},
		{Name: "unknown profile", Edit: func(p *AWSSNS) { p.Profile = "nope" }, WantErr: "nope"},
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
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	caddysmstest.Sent(t, &p, "mid-1")
	srv.Answer(400, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: PhoneNumber Reason: +12015550123 is not valid to publish to</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
	caddysmstest.Refused(t, &p, "aws_sns", func(e *sms.Error) bool { return e.Code == "InvalidParameter" })
	var unset AWSSNS
	if _, err := unset.Send(context.Background(), sms.Message{Phone: "+12015550123", Text: "t"}); !sms.Definite(err) {
		t.Errorf("unprovisioned: %v", err)
	}
}

// TestAWSSNSLogsNoSecrets sends with Debug logs on, accepted and refused, and
// finds no secret, code or whole phone in what is logged or returned.
func TestAWSSNSLogsNoSecrets(t *testing.T) {
	const secret = "s3cret-value"
	caddysmstest.LogsNoSecrets(t, "aws_sns", secret,
		func(endpoint string) *AWSSNS {
			return &AWSSNS{Region: "us-east-1", AccessKeyID: "AKIATEST", SecretAccessKey: secret, Endpoint: endpoint}
		},
		func(p *AWSSNS, l *zap.Logger) { p.logger = l },
		fakegw.SNSPublished("m1"),
		`<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: `+caddysmstest.Phone+` `+caddysmstest.Code+`</Message></Error></ErrorResponse>`)
}
