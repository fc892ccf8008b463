package sms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestInfobipCaddyfileAndProvision(t *testing.T) {
	var p Infobip
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("infobip {\n api_key k\n base_url https://x.api.infobip.com\n sender InfoSMS\n}")); err != nil {
		t.Fatal(err)
	}
	if p.APIKey != "k" || p.BaseURL != "https://x.api.infobip.com" || p.Sender != "InfoSMS" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Infobip) }, []struct{ name, input, want string }{
		{"unknown option", "infobip {\n api_key a\n endpoint x\n}", "Testfile:3"},
		{"duplicate", "infobip {\n sender a\n sender b\n}", "already specified"},
		{"two arguments", "infobip {\n sender a b\n}", "Testfile:2"},
	})
	t.Setenv("INFOBIP_TEST_KEY", "s3cret")
	provisionErrors(t, func() Infobip { return Infobip{APIKey: "{env.INFOBIP_TEST_KEY}", BaseURL: "https://x.api.infobip.com"} }, []struct {
		name    string
		edit    func(*Infobip)
		wantErr string
	}{
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
	if res, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"}); err != nil || res.ID != "m-1" || res.Remote {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	srv.Answer(400, `{"requestError":{"serviceException":{"messageId":"BAD_REQUEST","text":"Invalid destination address 12015550123"}}}`)
	_, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"})
	var e *Error
	if !errors.As(err, &e) || e.Provider != "infobip" || e.Code != "BAD_REQUEST" || !Definite(err) {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "5550123") {
		t.Errorf("error %q holds the whole phone", err)
	}
}
