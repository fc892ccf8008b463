package vonage

import (
	"testing"

	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// FuzzVonageAnswer: any status and body Vonage's SMS API could answer to a send. The
// properties are caddysmstest.CheckSend's: message ids or the provider's error,
// definite only for a refusal, scrubbed of the phone and the code.
func FuzzVonageAnswer(f *testing.F) {
	p := Vonage{APIKey: "k", APISecret: "s", From: "MyBrand", Endpoint: "https://vonage.fuzz.example"}
	caddysmstest.ProvisionFuzz(f, &p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	caddysmstest.SeedAnswers(f, `{"message-count":"1","messages":[{"status":"0","message-id":"A"}]}`,
		`{"message-count":"2","messages":[{"status":"0","message-id":"A"},{"status":"0","message-id":"B"}]}`,
		`{"message-count":"1","messages":[{"status":"3","error-text":"Invalid to number 12015550123"}]}`,
		`{"message-count":"2","messages":[{"status":"0","message-id":"A"},{"status":"3","error-text":"x"}]}`,
		`{"message-count":"1","messages":[{"status":"5","error-text":"Internal Error"}]}`,
		`{"message-count":"1","messages":[{"status":"0","message-id":""}]}`, `{"messages":[]}`, `{}`, ``)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "vonage", true, res, err)
	})
}
