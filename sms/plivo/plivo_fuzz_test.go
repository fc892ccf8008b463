package plivo

import (
	"testing"

	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// FuzzPlivoAnswer: any status and body Plivo's message API could answer to a send. The
// properties are caddysmstest.CheckSend's: a message uuid or the provider's error,
// definite only for a refusal, scrubbed of the phone and the code.
func FuzzPlivoAnswer(f *testing.F) {
	p := Plivo{AuthID: "MA0123", AuthToken: "tok", Src: "+12015550100", Endpoint: "https://plivo.fuzz.example"}
	caddysmstest.ProvisionFuzz(f, &p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	caddysmstest.SeedAnswers(f, `{"api_id":"a","message":"message(s) queued","message_uuid":["u-1"]}`, `{"message_uuid":[]}`, `{"message_uuid":[""]}`, `{"message_uuid":"u-1"}`, `{}`, ``,
		`{"api_id":"a","error":"12015550123 is not a valid phone number"}`, `{"error":{"dst":["bad 12015550123"]}}`)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "plivo", true, res, err)
	})
}
