package messagebird

import (
	"testing"

	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// FuzzMessageBirdAnswer: any status and body Bird's channels API could answer to a send. The
// properties are caddysmstest.CheckSend's: a message id or the provider's error,
// definite only for a refusal, scrubbed of the phone and the code.
func FuzzMessageBirdAnswer(f *testing.F) {
	p := MessageBird{AccessKey: "k", WorkspaceID: "ws", ChannelID: "ch", Endpoint: "https://bird.fuzz.example"}
	caddysmstest.ProvisionFuzz(f, &p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	caddysmstest.SeedAnswers(f, `{"id":"m-1","status":"accepted"}`, `{"id":""}`, `{}`, ``,
		`{"errors":[{"code":9,"description":"no (correct) recipients found: 12015550123","parameter":"recipients"}]}`,
		`{"code":"invalid_request","message":"bad 12015550123"}`, `{"errors":[{"code":"x"}]}`)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "messagebird", true, res, err)
	})
}
