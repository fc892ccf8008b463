package infobip

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestInfobipCaddyfileAndProvision(t *testing.T) {
	var p Infobip
	caddysmstest.Parsed(t, &p, "infobip {\n api_key k\n base_url https://x.api.infobip.com\n sender InfoSMS\n}")
	if p.APIKey != "k" || p.BaseURL != "https://x.api.infobip.com" || p.Sender != "InfoSMS" {
		t.Errorf("parsed %+v", p)
	}
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Infobip) }, caddysmstest.OptionErrors("infobip", "sender", "endpoint"))
	t.Setenv("INFOBIP_TEST_KEY", "s3cret")
	caddysmstest.ProvisionErrors(t, func() Infobip { return Infobip{APIKey: "{env.INFOBIP_TEST_KEY}", BaseURL: "https://x.api.infobip.com"} }, []caddysmstest.ProvisionCase[*Infobip]{
		{Name: "ok", Edit: func(*Infobip) {}},
		{Name: "no key", Edit: func(p *Infobip) { p.APIKey = "{env.INFOBIP_TEST_UNSET}" }, WantErr: "api_key is required"},
		{Name: "no base URL", Edit: func(p *Infobip) { p.BaseURL = "" }, WantErr: "base_url is required"},
		{Name: "bad base URL", Edit: func(p *Infobip) { p.BaseURL = "x.api.infobip.com" }, WantErr: "http or https"},
	})
}

func TestInfobipSend(t *testing.T) {
	srv := fakegw.NewReply(t, 200, `{"bulkId":"b","messages":[{"messageId":"m-1","status":{"groupId":1,"groupName":"PENDING"}}]}`)
	p := Infobip{APIKey: "k", BaseURL: srv.URL(), Sender: "InfoSMS"}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	caddysmstest.Sent(t, &p, "m-1")
	srv.Answer(400, `{"requestError":{"serviceException":{"messageId":"BAD_REQUEST","text":"Invalid destination address 12015550123"}}}`)
	caddysmstest.Refused(t, &p, "infobip", func(e *sms.Error) bool { return e.Code == "BAD_REQUEST" })
}
