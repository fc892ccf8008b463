package sms

import (
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestSinchCaddyfileAndProvision(t *testing.T) {
	var p Sinch
	parsed(t, &p, "sinch {\n service_plan_id plan-1\n api_token t\n region eu\n from MyBrand\n}")
	if p.ServicePlanID != "plan-1" || p.APIToken != "t" || p.Region != "eu" || p.From != "MyBrand" {
		t.Errorf("parsed %+v", p)
	}
	caddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Sinch) }, optionErrors("sinch", "region", "sender"))
	t.Setenv("SINCH_TEST_TOKEN", "s3cret")
	provisionErrors(t, func() Sinch { return Sinch{ServicePlanID: "plan-1", APIToken: "{env.SINCH_TEST_TOKEN}"} }, []provisionCase[*Sinch]{
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
	sent(t, &p, "01FC66621XXXXX119Z8PMV1QPQ")
	if got := srv.Last().Path; got != "/xms/v1/plan-1/batches" {
		t.Errorf("path %q", got)
	}
	srv.Answer(400, `{"code":"syntax_invalid_parameter_format","text":"Invalid recipient +12015550123"}`)
	refused(t, &p, "sinch", func(e *Error) bool { return e.Code == "syntax_invalid_parameter_format" })
}
