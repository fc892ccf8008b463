package sms

import (
	"context"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestVonageCaddyfileAndProvision(t *testing.T) {
	var p Vonage
	parsed(t, &p, "vonage {\n api_key a1b2c3d4\n api_secret {env.X}\n from MyBrand\n timeout 2s\n}")
	if p.APIKey != "a1b2c3d4" || p.APISecret != "{env.X}" || p.From != "MyBrand" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Vonage) }, optionErrors("vonage", "from", "sender"))
	t.Setenv("VONAGE_TEST_SECRET", "s3cret")
	provisionErrors(t, func() Vonage { return Vonage{APIKey: "a1b2c3d4", APISecret: "{env.VONAGE_TEST_SECRET}", From: "B"} }, []provisionCase[*Vonage]{
		{"ok", func(*Vonage) {}, ""},
		{"no key", func(p *Vonage) { p.APIKey = "" }, "api_key is required"},
		{"no secret", func(p *Vonage) { p.APISecret = "{env.VONAGE_TEST_UNSET}" }, "api_secret is required"},
		{"no sender", func(p *Vonage) { p.From = "" }, "from is required"},
		{"bad endpoint", func(p *Vonage) { p.Endpoint = "https://u:s3cret@rest.nexmo.com" }, "credentials"},
	})
}

func TestVonageSendRefusal(t *testing.T) {
	srv := fakegw.NewReply(t, 200, `{"message-count":"1","messages":[{"status":"3","error-text":"Invalid to number 12015550123"}]}`)
	p := Vonage{APIKey: "a1b2c3d4", APISecret: "s", From: "B", Endpoint: srv.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	refused(t, &p, "vonage", func(e *Error) bool { return e.Code == "3" })
	ok := fakegw.NewReply(t, 200, `{"message-count":"2","messages":[{"status":"0","message-id":"A"},{"status":"0","message-id":"B"}]}`)
	p = Vonage{APIKey: "a1b2c3d4", APISecret: "s", From: "B", Endpoint: ok.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Send(context.Background(), Message{Phone: "+12015550123", Text: "t"}); err != nil || res.ID != "A,B" || res.Remote {
		t.Errorf("Send = %+v, %v", res, err)
	}
}
