package sms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestSinchCaddyfileAndProvision(t *testing.T) {
	var p Sinch
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("sinch {\n service_plan_id plan-1\n api_token t\n region eu\n from MyBrand\n}")); err != nil {
		t.Fatal(err)
	}
	if p.ServicePlanID != "plan-1" || p.APIToken != "t" || p.Region != "eu" || p.From != "MyBrand" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Sinch) }, []struct{ name, input, want string }{
		{"unknown option", "sinch {\n api_token a\n sender x\n}", "Testfile:3"},
		{"duplicate", "sinch {\n region eu\n region us\n}", "already specified"},
		{"two arguments", "sinch {\n from a b\n}", "Testfile:2"},
	})
	t.Setenv("SINCH_TEST_TOKEN", "s3cret")
	provisionErrors(t, func() Sinch { return Sinch{ServicePlanID: "plan-1", APIToken: "{env.SINCH_TEST_TOKEN}"} }, []struct {
		name    string
		edit    func(*Sinch)
		wantErr string
	}{
		{"ok", func(*Sinch) {}, ""},
		{"eu", func(p *Sinch) { p.Region = "eu" }, ""},
		{"no plan", func(p *Sinch) { p.ServicePlanID = "" }, "service_plan_id is required"},
		{"no token", func(p *Sinch) { p.APIToken = "{env.SINCH_TEST_UNSET}" }, "api_token is required"},
		{"bad region", func(p *Sinch) { p.Region = "mars" }, "region must be one of"},
		{"bad endpoint", func(p *Sinch) { p.Endpoint = "sinch.example" }, "http or https"},
	})
}

func TestSinchSend(t *testing.T) {
	srv := fakegw.NewReply(t, 201, `{"id":"01FC66621XXXXX119Z8PMV1QPQ"}`)
	p := Sinch{ServicePlanID: "plan-1", APIToken: "t", Region: "eu", Endpoint: srv.URL()}
	if err := provision(t, &p); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"}); err != nil || res.ID != "01FC66621XXXXX119Z8PMV1QPQ" || res.Remote {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if got := srv.Last().Path; got != "/xms/v1/plan-1/batches" {
		t.Errorf("path %q", got)
	}
	srv.Answer(400, `{"code":"syntax_invalid_parameter_format","text":"Invalid recipient +12015550123"}`)
	_, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"})
	var e *Error
	if !errors.As(err, &e) || e.Provider != "sinch" || e.Code != "syntax_invalid_parameter_format" || !Definite(err) {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "5550123") {
		t.Errorf("error %q holds the whole phone", err)
	}
}
