package telnyx

import (
	"testing"

	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// FuzzTelnyxAnswer: any status and body Telnyx's API could answer to a
// send. The properties are caddysmstest.CheckSend's: a message id or the
// provider's error, definite only for a refusal, scrubbed of the phone
// and the code.
func FuzzTelnyxAnswer(f *testing.F) {
	p := Telnyx{APIKey: "KEYabc", From: "+12015550100", Endpoint: "https://telnyx.fuzz.example"}
	caddysmstest.ProvisionFuzz(f, &p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	caddysmstest.SeedAnswers(f, `{"data":{"id":"msg-1"}}`, `{"data":{"id":""}}`, `{"data":null}`, `{}`, ``,
		`{"errors":[{"code":"40310","title":"Invalid 'to' address","detail":"+12015550123 is not reachable"}]}`,
		`{"errors":[]}`, `{"errors":[{"code":10,"title":"t"}]}`)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "telnyx", true, res, err)
	})
}
