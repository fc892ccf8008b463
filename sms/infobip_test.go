package sms

import (
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestInfobipCaddyfileAndProvision(t *testing.T) {
	var p Infobip
	parsed(t, &p, "infobip {\n api_key k\n base_url https://x.api.infobip.com\n sender InfoSMS\n}")
	if p.APIKey != "k" || p.BaseURL != "https://x.api.infobip.com" || p.Sender != "InfoSMS" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Infobip) }, optionErrors("infobip", "sender", "endpoint"))
	t.Setenv("INFOBIP_TEST_KEY", "s3cret")
	provisionErrors(t, func() Infobip { return Infobip{APIKey: "{env.INFOBIP_TEST_KEY}", BaseURL: "https://x.api.infobip.com"} }, []provisionCase[*Infobip]{
		{"ok", func(*Infobip) {}, ""},
		{"no key", func(p *Infobip) { p.APIKey = "{env.INFOBIP_TEST_UNSET}" }, "api_key is required"},
		{"no base URL", func(p *Infobip) { p.BaseURL = "" }, "base_url is required"},
		{"bad base URL", func(p *Infobip) { p.BaseURL = "x.api.infobip.com" }, "http or https"},
	})
}

func TestInfobipSend(t *testing.T) {
	srv := fakegw.NewReply(t, 200, `{"bulkId":"b","messages":[{"messageId":"m-1","status":{"groupId":1,"groupName":"PENDING"}}]}`)
	p := Infobip{APIKey: "k", BaseURL: srv.URL(), Sender: "InfoSMS"}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	sent(t, &p, "m-1")
	srv.Answer(400, `{"requestError":{"serviceException":{"messageId":"BAD_REQUEST","text":"Invalid destination address 12015550123"}}}`)
	refused(t, &p, "infobip", func(e *Error) bool { return e.Code == "BAD_REQUEST" })
}
