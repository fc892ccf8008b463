package webhook

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
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
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Webhook) }, []caddysmstest.CaddyfileCase{
		{Name: "unknown option", Input: "webhook {\n url u\n to x\n}", Want: "Testfile:3"},
		{Name: "duplicate url", Input: "webhook {\n url a\n url b\n}", Want: "already specified"},
		{Name: "header with one argument", Input: "webhook {\n header X\n}", Want: "Testfile:2"},
		{Name: "bad header name", Input: "webhook {\n header \"X Y\" v\n}", Want: "not a valid HTTP header name"},
		{Name: "lower-case method", Input: "webhook {\n method post\n}", Want: "upper-case"},
		{Name: "bad status", Input: "webhook {\n success 200 2xx\n}", Want: "not an HTTP status"},
		{Name: "status out of range", Input: "webhook {\n success 600\n}", Want: "Testfile:2"},
		{Name: "no status", Input: "webhook {\n success\n}", Want: "Testfile:2"},
	})
}

func TestWebhookProvision(t *testing.T) {
	t.Setenv("WEBHOOK_TEST_TOKEN", "s3cret")
	base := func() Webhook {
		return Webhook{URL: "https://sms.example/send", Body: `{"to":"{phone}"}`,
			Headers: http.Header{"Authorization": {"Bearer {env.WEBHOOK_TEST_TOKEN}"}}}
	}
	caddysmstest.ProvisionErrors(t, base, []caddysmstest.ProvisionCase[*Webhook]{
		{Name: "ok", Edit: func(*Webhook) {}},
		{Name: "placeholders in the url", Edit: func(p *Webhook) { p.URL = "https://x/?to={phone}&d={phone_digits}&t={message}&c={code}" }},
		{Name: "no url", Edit: func(p *Webhook) { p.URL = "" }, WantErr: "url is required"},
		{Name: "typo in the url", Edit: func(p *Webhook) { p.URL = "https://x/?to={phnoe}" }, WantErr: "unrecognized placeholder {phnoe}"},
		{Name: "relative url", Edit: func(p *Webhook) { p.URL = "/send" }, WantErr: "absolute"},
		{Name: "typo in a header", Edit: func(p *Webhook) { p.Headers.Set("Authorization", "{evn.WEBHOOK_TEST_TOKEN}") }, WantErr: "unrecognized placeholder"},
		{Name: "unquoted placeholder in JSON", Edit: func(p *Webhook) { p.Body = `{"to":{phone}}` }, WantErr: "valid JSON"},
		{Name: "bad method", Edit: func(p *Webhook) { p.Method = "po st" }, WantErr: "method"},
	})
}

func TestWebhookSendResolvesSecretsAtStart(t *testing.T) {
	t.Setenv("WEBHOOK_TEST_TOKEN", "s3cret")
	srv := fakegw.NewReply(t, http.StatusOK, "")
	p := Webhook{URL: srv.URL(), Body: `{"to":"{phone}","text":"{message}","k":"{env.WEBHOOK_TEST_TOKEN}"}`,
		Headers: http.Header{"Authorization": {"Bearer {env.WEBHOOK_TEST_TOKEN}"}}}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), sms.Message{Phone: "+12015550123", Code: "123456", Text: "123456 \"x\""}); err != nil {
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

// TestWebhookLogsNoSecrets sends with Debug logs on, accepted and refused, and
// finds no secret, code or whole phone in what is logged or returned.
func TestWebhookLogsNoSecrets(t *testing.T) {
	const secret = "s3cret-value"
	caddysmstest.LogsNoSecrets(t, "webhook", secret,
		func(endpoint string) *Webhook {
			return &Webhook{URL: endpoint + "/?key=" + secret, Headers: http.Header{"Authorization": {secret}}, Body: `{"t":"{message}"}`}
		},
		func(p *Webhook, l *zap.Logger) { p.logger = l },
		`{}`,
		`{"error":"rejected `+caddysmstest.Code+`"}`)
}
