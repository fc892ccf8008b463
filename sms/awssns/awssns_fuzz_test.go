package awssns

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// FuzzAWSSNSAnswer: any status and body SNS's Query API could answer to
// a Publish, read by the AWS SDK (XML). The properties are
// caddysmstest.CheckSend's: a MessageId or the provider's error,
// definite only for a refusal, scrubbed of the phone and the code.
func FuzzAWSSNSAnswer(f *testing.F) {
	f.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	f.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	p := AWSSNS{Region: fakegw.SNSRegion, AccessKeyID: fakegw.SNSAccessKey, SecretAccessKey: fakegw.SNSSecretKey,
		Endpoint: "https://sns.fuzz.example"}
	caddysmstest.ProvisionFuzz(f, &p)
	g := new(caddysmstest.Gateway)
	// The SDK's client, its transport the fuzzed gateway, through the
	// same capped body as in production.
	p.client.api = sns.New(p.client.api.Options(), func(o *sns.Options) {
		o.HTTPClient = capped{hc: g.Client(), version: "fuzz"}
	})
	caddysmstest.SeedAnswers(f, fakegw.SNSPublished("5f2b7c1e-aaaa-5a1b-9c3d-000000000001"),
		`<PublishResponse><PublishResult><MessageId></MessageId></PublishResult></PublishResponse>`,
		`<PublishResponse><PublishResult></PublishResult></PublishResponse>`,
		`<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: PhoneNumber Reason: +12015550123 is not valid to publish to</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
		`<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>`,
		`{"Error":{"Code":"x"}}`, ``, `<`)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "aws_sns", true, res, err)
	})
}
