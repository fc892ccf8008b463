package sinch

import (
	"testing"

	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// FuzzSinchAnswer: any status and body Sinch's batches API could answer to a send. The
// properties are caddysmstest.CheckSend's: a batch id or the provider's error,
// definite only for a refusal, scrubbed of the phone and the code.
func FuzzSinchAnswer(f *testing.F) {
	p := Sinch{ServicePlanID: "plan", APIToken: "tok", From: "MyBrand", Endpoint: "https://sinch.fuzz.example"}
	caddysmstest.ProvisionFuzz(f, &p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	caddysmstest.SeedAnswers(f, `{"id":"01FC66621XXXXX119Z8PMV1QPQ"}`, `{"id":""}`, `{"id":7}`, `{}`, ``,
		`{"code":"syntax_invalid_parameter_format","text":"Invalid recipient +12015550123"}`)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "sinch", true, res, err)
	})
}
