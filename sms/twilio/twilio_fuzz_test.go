package twilio

import (
	"testing"

	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// twilioErrors are Twilio's error bodies, Messages and Verify alike.
var twilioErrors = []string{
	`{"code":21211,"message":"Invalid 'To' Phone Number: +12015550123","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`,
	`{"code":20404,"message":"not found","status":404}`,
	`{"code":60202,"message":"Max check attempts reached","status":429}`,
	`{"code":60203,"message":"Max send attempts reached","status":429}`,
	`{"code":"x","message":7}`, `{}`, ``,
}

// FuzzTwilioAnswer: any status and body Twilio's Messages API could
// answer to a send. The properties are caddysmstest.CheckSend's: a
// message sid or the provider's error, definite only for a refusal,
// scrubbed of the phone and the code.
func FuzzTwilioAnswer(f *testing.F) {
	p := Twilio{TwilioAuth: TwilioAuth{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "tok"},
		From: "+12015550100", Endpoint: "https://twilio.fuzz.example"}
	caddysmstest.ProvisionFuzz(f, &p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	caddysmstest.SeedAnswers(f, append([]string{
		`{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}`,
		`{"sid":"SM0123456789abcdef0123456789abcdef","status":"failed","error_code":30003,"error_message":"Unreachable 12015550123"}`,
		`{"sid":"SM0123456789abcdef0123456789abcdef","status":"undelivered","error_code":null}`,
		`{"sid":"","status":"queued"}`,
	}, twilioErrors...)...)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "twilio", true, res, err)
	})
}

// verifyAnswers are Twilio Verify's verification bodies.
var verifyAnswers = append([]string{
	`{"sid":"VE0123456789abcdef0123456789abcdef","status":"pending","valid":false}`,
	`{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved","valid":true}`,
	`{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved","valid":null}`,
	`{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved","valid":false}`,
	`{"sid":"VE0123456789abcdef0123456789abcdef","status":"canceled"}`,
	`{"sid":"VE0123456789abcdef0123456789abcdef","status":"12015550123"}`,
	`{"sid":"","status":"pending"}`,
}, twilioErrors...)

// newVerify is a provisioned twilio_verify on a fuzzed gateway.
func newVerify(f *testing.F) (*TwilioVerify, *caddysmstest.Gateway) {
	p := &TwilioVerify{TwilioAuth: TwilioAuth{APIKey: "SK0123456789abcdef0123456789abcdef", APISecret: "x"},
		ServiceSID: "VA0123456789abcdef0123456789abcdef", Endpoint: "https://verify.fuzz.example"}
	caddysmstest.ProvisionFuzz(f, p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	return p, g
}

// FuzzTwilioVerifyAnswer: any answer of Twilio Verify to the start of a
// verification, with caddysmstest.CheckSend's properties.
func FuzzTwilioVerifyAnswer(f *testing.F) {
	p, g := newVerify(f)
	caddysmstest.SeedAnswers(f, verifyAnswers...)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "twilio_verify", true, res, err)
		if err == nil && !res.Remote {
			t.Fatalf("verification %+v not remote", res)
		}
	})
}

// FuzzTwilioVerifyCheck: any answer of Twilio Verify to a check, with
// caddysmstest.CheckCheck's properties: a match only when Twilio said
// approved in a 2xx.
func FuzzTwilioVerifyCheck(f *testing.F) {
	p, g := newVerify(f)
	caddysmstest.SeedAnswers(f, verifyAnswers...)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		ok, err := p.Check(caddysmstest.Ctx, caddysmstest.FuzzPhone, caddysmstest.FuzzCode, "")
		caddysmstest.CheckCheck(t, g, "twilio_verify", ok, err)
	})
}
