package infobip

import (
	"testing"

	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// FuzzInfobipAnswer: any status and body Infobip's SMS API could answer to a send. The
// properties are caddysmstest.CheckSend's: a message id or the provider's error,
// definite only for a refusal, scrubbed of the phone and the code.
func FuzzInfobipAnswer(f *testing.F) {
	p := Infobip{APIKey: "k", BaseURL: "https://infobip.fuzz.example", Sender: "MyBrand"}
	caddysmstest.ProvisionFuzz(f, &p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	caddysmstest.SeedAnswers(f, `{"bulkId":"b","messages":[{"messageId":"m-1","status":{"groupId":1,"groupName":"PENDING"}}]}`,
		`{"messages":[{"messageId":"m-1","status":{"groupId":5,"groupName":"REJECTED","id":6,"name":"REJECTED_DESTINATION","description":"d"}}]}`,
		`{"messages":[]}`, `{"messages":[{"messageId":""}]}`, `{}`, ``,
		`{"requestError":{"serviceException":{"messageId":"BAD_REQUEST","text":"Invalid destination address 12015550123"}}}`,
		`{"errorCode":"E400","description":"bad"}`)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "infobip", true, res, err)
	})
}
