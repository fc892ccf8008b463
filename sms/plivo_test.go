package sms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestPlivoCaddyfileAndProvision(t *testing.T) {
	var p Plivo
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("plivo {\n auth_id MA1\n auth_token t\n src +12015550100\n timeout 2s\n}")); err != nil {
		t.Fatal(err)
	}
	if p.AuthID != "MA1" || p.AuthToken != "t" || p.Src != "+12015550100" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Plivo) }, []struct{ name, input, want string }{
		{"unknown option", "plivo {\n auth_id a\n from x\n}", "Testfile:3"},
		{"duplicate", "plivo {\n src a\n src b\n}", "already specified"},
		{"two arguments", "plivo {\n src a b\n}", "Testfile:2"},
	})
	t.Setenv("PLIVO_TEST_TOKEN", "s3cret")
	provisionErrors(t, func() Plivo { return Plivo{AuthID: "MA1", AuthToken: "{env.PLIVO_TEST_TOKEN}", Src: "+12015550100"} }, []struct {
		name    string
		edit    func(*Plivo)
		wantErr string
	}{
		{"ok", func(*Plivo) {}, ""},
		{"powerpack", func(p *Plivo) { p.Src, p.PowerpackUUID = "", "pp-1" }, ""},
		{"no id", func(p *Plivo) { p.AuthID = "" }, "auth_id is required"},
		{"no token", func(p *Plivo) { p.AuthToken = "{env.PLIVO_TEST_UNSET}" }, "auth_token is required"},
		{"no sender", func(p *Plivo) { p.Src = "" }, "one of src and powerpack_uuid"},
		{"both senders", func(p *Plivo) { p.PowerpackUUID = "pp-1" }, "one of src and powerpack_uuid"},
		{"bad endpoint", func(p *Plivo) { p.Endpoint = "https://api.plivo.com/?token=s3cret" }, "query"},
	})
}

func TestPlivoSend(t *testing.T) {
	srv := fakegw.NewReply(t, 202, `{"api_id":"a","message":"message(s) queued","message_uuid":["u-1"]}`)
	p := Plivo{AuthID: "MA1", AuthToken: "t", Src: "+12015550100", Endpoint: srv.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"}); err != nil || res.ID != "u-1" || res.Remote {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if got := srv.Last().Path; got != "/v1/Account/MA1/Message/" {
		t.Errorf("path %q", got)
	}
	srv.Answer(400, `{"api_id":"a","error":"12015550123 is not a valid phone number"}`)
	_, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"})
	var e *Error
	if !errors.As(err, &e) || e.Provider != "plivo" || e.Status != 400 || !Definite(err) {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "5550123") {
		t.Errorf("error %q holds the whole phone", err)
	}
}
