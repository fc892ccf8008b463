package sms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestTelnyxCaddyfileAndProvision(t *testing.T) {
	var p Telnyx
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("telnyx {\n api_key KEYabc\n from +12015550100\n messaging_profile_id mp-1\n timeout 2s\n}")); err != nil {
		t.Fatal(err)
	}
	if p.APIKey != "KEYabc" || p.From != "+12015550100" || p.MessagingProfileID != "mp-1" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Telnyx) }, []struct{ name, input, want string }{
		{"unknown option", "telnyx {\n api_key k\n sender x\n}", "Testfile:3"},
		{"duplicate", "telnyx {\n from a\n from b\n}", "already specified"},
		{"two arguments", "telnyx {\n from a b\n}", "Testfile:2"},
	})
	t.Setenv("TELNYX_TEST_KEY", "s3cret")
	provisionErrors(t, func() Telnyx { return Telnyx{APIKey: "{env.TELNYX_TEST_KEY}", From: "+12015550100"} }, []struct {
		name    string
		edit    func(*Telnyx)
		wantErr string
	}{
		{"ok", func(*Telnyx) {}, ""},
		{"profile only", func(p *Telnyx) { p.From, p.MessagingProfileID = "", "mp-1" }, ""},
		{"no key", func(p *Telnyx) { p.APIKey = "{env.TELNYX_TEST_UNSET}" }, "api_key is required"},
		{"no sender", func(p *Telnyx) { p.From = "" }, "from or messaging_profile_id is required"},
		{"bad endpoint", func(p *Telnyx) { p.Endpoint = "ftp://api.telnyx.com" }, "http or https"},
	})
}

func TestTelnyxSend(t *testing.T) {
	srv := fakegw.NewReply(t, 200, `{"data":{"id":"msg-1"}}`)
	p := Telnyx{APIKey: "KEYabc", From: "+12015550100", Endpoint: srv.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"}); err != nil || res.ID != "msg-1" || res.Remote {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	srv.Answer(400, `{"errors":[{"code":"40310","title":"Invalid 'to' address","detail":"+12015550123 is not reachable"}]}`)
	_, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"})
	var e *Error
	if !errors.As(err, &e) || e.Provider != "telnyx" || e.Code != "40310" || !Definite(err) {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "5550123") {
		t.Errorf("error %q holds the whole phone", err)
	}
}
