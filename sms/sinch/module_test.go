package sinch

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func TestSinchCaddyfileAndProvision(t *testing.T) {
	var p Sinch
	caddysmstest.Parsed(t, &p, "sinch {\n service_plan_id plan-1\n api_token t\n region eu\n from MyBrand\n}")
	if p.ServicePlanID != "plan-1" || p.APIToken != "t" || p.Region != "eu" || p.From != "MyBrand" {
		t.Errorf("parsed %+v", p)
	}
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(Sinch) }, caddysmstest.OptionErrors("sinch", "region", "sender"))
	t.Setenv("SINCH_TEST_TOKEN", "s3cret")
	caddysmstest.ProvisionErrors(t, func() Sinch { return Sinch{ServicePlanID: "plan-1", APIToken: "{env.SINCH_TEST_TOKEN}"} }, []caddysmstest.ProvisionCase[*Sinch]{
		{Name: "ok", Edit: func(*Sinch) {}},
		{Name: "eu", Edit: func(p *Sinch) { p.Region = "eu" }},
		{Name: "no plan", Edit: func(p *Sinch) { p.ServicePlanID = "" }, WantErr: "service_plan_id is required"},
		{Name: "no token", Edit: func(p *Sinch) { p.APIToken = "{env.SINCH_TEST_UNSET}" }, WantErr: "api_token is required"},
		{Name: "bad region", Edit: func(p *Sinch) { p.Region = "mars" }, WantErr: "region must be one of"},
		{Name: "bad endpoint", Edit: func(p *Sinch) { p.Endpoint = "sinch.example" }, WantErr: "http or https"},
	})
}

func TestSinchSend(t *testing.T) {
	srv := fakegw.NewReply(t, 201, `{"id":"01FC66621XXXXX119Z8PMV1QPQ"}`)
	p := Sinch{ServicePlanID: "plan-1", APIToken: "t", Region: "eu", Endpoint: srv.URL()}
	if err := caddysmstest.Provision(t, &p); err != nil {
		t.Fatal(err)
	}
	caddysmstest.Sent(t, &p, "01FC66621XXXXX119Z8PMV1QPQ")
	if got := srv.Last().Path; got != "/xms/v1/plan-1/batches" {
		t.Errorf("path %q", got)
	}
	srv.Answer(400, `{"code":"syntax_invalid_parameter_format","text":"Invalid recipient +12015550123"}`)
	caddysmstest.Refused(t, &p, "sinch", func(e *sms.Error) bool { return e.Code == "syntax_invalid_parameter_format" })
}
