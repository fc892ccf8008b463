package sms

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestWebhookUnmarshalCaddyfile(t *testing.T) {
	var p Webhook
	err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("webhook {\n" +
		" url https://sms.example/send?key={env.K}\n" +
		" method PUT\n" +
		" header Authorization \"Bearer {env.TOKEN}\"\n" +
		" header X-Tag a\n" +
		" header X-Tag b\n" +
		" body `{\"to\":\"{phone}\",\"text\":\"{message}\"}`\n" +
		" success 200 202\n" +
		" timeout 5s\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if p.URL != "https://sms.example/send?key={env.K}" || p.Method != "PUT" || p.Body != `{"to":"{phone}","text":"{message}"}` ||
		p.Headers.Get("Authorization") != "Bearer {env.TOKEN}" || len(p.Headers["X-Tag"]) != 2 ||
		len(p.Success) != 2 || p.Success[1] != 202 {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Webhook) }, []caddyfileCase{
		{"unknown option", "webhook {\n url u\n to x\n}", "Testfile:3"},
		{"duplicate url", "webhook {\n url a\n url b\n}", "already specified"},
		{"header with one argument", "webhook {\n header X\n}", "Testfile:2"},
		{"bad header name", "webhook {\n header \"X Y\" v\n}", "not a valid HTTP header name"},
		{"lower-case method", "webhook {\n method post\n}", "upper-case"},
		{"bad status", "webhook {\n success 200 2xx\n}", "not an HTTP status"},
		{"status out of range", "webhook {\n success 600\n}", "Testfile:2"},
		{"no status", "webhook {\n success\n}", "Testfile:2"},
	})
}

func TestWebhookProvision(t *testing.T) {
	t.Setenv("WEBHOOK_TEST_TOKEN", "s3cret")
	base := func() Webhook {
		return Webhook{URL: "https://sms.example/send", Body: `{"to":"{phone}"}`,
			Headers: http.Header{"Authorization": {"Bearer {env.WEBHOOK_TEST_TOKEN}"}}}
	}
	provisionErrors(t, base, []provisionCase[*Webhook]{
		{"ok", func(*Webhook) {}, ""},
		{"placeholders in the url", func(p *Webhook) { p.URL = "https://x/?to={phone}&d={phone_digits}&t={message}&c={code}" }, ""},
		{"no url", func(p *Webhook) { p.URL = "" }, "url is required"},
		{"typo in the url", func(p *Webhook) { p.URL = "https://x/?to={phnoe}" }, "unrecognized placeholder {phnoe}"},
		{"relative url", func(p *Webhook) { p.URL = "/send" }, "absolute"},
		{"typo in a header", func(p *Webhook) { p.Headers.Set("Authorization", "{evn.WEBHOOK_TEST_TOKEN}") }, "unrecognized placeholder"},
		{"unquoted placeholder in JSON", func(p *Webhook) { p.Body = `{"to":{phone}}` }, "valid JSON"},
		{"bad method", func(p *Webhook) { p.Method = "po st" }, "method"},
	})
}

func TestWebhookSendResolvesSecretsAtStart(t *testing.T) {
	t.Setenv("WEBHOOK_TEST_TOKEN", "s3cret")
	srv := fakegw.NewReply(t, http.StatusOK, "")
	p := Webhook{URL: srv.URL(), Body: `{"to":"{phone}","text":"{message}","k":"{env.WEBHOOK_TEST_TOKEN}"}`,
		Headers: http.Header{"Authorization": {"Bearer {env.WEBHOOK_TEST_TOKEN}"}}}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456 \"x\""}); err != nil {
		t.Fatal(err)
	}
	auth, body := srv.Last().Header.Get("Authorization"), srv.Last().Body
	if auth != "Bearer s3cret" || body != `{"to":"+12015550123","text":"123456 \"x\"","k":"s3cret"}` {
		t.Errorf("auth %q body %q", auth, body)
	}
	if p.Headers.Get("Authorization") != "Bearer {env.WEBHOOK_TEST_TOKEN}" {
		t.Error("the config field was overwritten with the secret")
	}
	if !strings.Contains(p.client.ContentType(), "json") {
		t.Errorf("content type %q", p.client.ContentType())
	}
}
