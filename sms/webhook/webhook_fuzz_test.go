package webhook

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// FuzzWebhookAnswer: any status and body a webhook gateway could answer.
// The body is never read (a gateway may echo the code); the properties
// are caddysmstest.CheckSend's: sent on a 2xx, else the provider's error,
// definite only for a 4xx.
func FuzzWebhookAnswer(f *testing.F) {
	p := Webhook{URL: "https://hook.fuzz.example/send?to={phone}", Body: `{"to":"{phone}","text":"{message}"}`}
	caddysmstest.ProvisionFuzz(f, &p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	caddysmstest.SeedAnswers(f, `{"ok":true}`, ``, `+12015550123 987654`)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		res, err := p.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, g, "webhook", false, res, err)
	})
}

// FuzzWebhookBody: a JSON body template, as `body` configures it, filled
// with any SMS text and code. A template that Check accepts (as Provision
// does) fills in to valid JSON for every message, not only for Check's
// sample: a placeholder outside quotes must be refused at start-up, not
// break a send now and then.
func FuzzWebhookBody(f *testing.F) {
	for _, tpl := range []string{
		`{"to":"{phone}","text":"{message}"}`, `{"to":"{phone_digits}","code":"{code}"}`,
		`{"to":{phone_digits},"text":"{message}"}`, `{"n":{code},"text":"{message}"}`,
		`{"t":"{message}","c":[{code}]}`, `["{phone}","{message}"]`, `{"text":{message}}`,
	} {
		f.Add(tpl, "123456 is your code\n\n@example.com #123456", "123456")
		f.Add(tpl, "a \"quoted\" \\ line\u2028\x00", "012345")
	}
	f.Fuzz(func(t *testing.T, tpl, text, code string) {
		c := &Client{URL: "https://hook.fuzz.example/", Body: tpl, Header: http.Header{"Content-Type": {JSON}}}
		if c.Check() != nil {
			return
		}
		if len(code) < 4 || len(code) > 10 {
			return // code_length is 4 to 10
		}
		for _, ch := range code {
			if ch < '0' || ch > '9' {
				return // codes are digits
			}
		}
		body := c.fill(c.Body, Message{Phone: caddysmstest.FuzzPhone, Text: text, Code: code}, escapeJSON)
		if !json.Valid([]byte(body)) {
			t.Fatalf("template %q passes Check, but with text %q and code %q fills in to %q, not JSON", tpl, text, code, body)
		}
	})
}
