package caddyotp_test

import (
	"fmt"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// TestIntegrationProvidersMore walks the whole flow, and every way the
// gateway can fail on send, through each provider added in issue 17,
// each against its fake in fakegw.Gateways (see walkProvider).
func TestIntegrationProvidersMore(t *testing.T) {
	providers := []struct {
		name  string
		block func(string) string
	}{
		{"aws_sns", snsBlock},
		{"telnyx", telnyxBlock},
		{"plivo", plivoBlock},
		{"sinch", sinchBlock},
		{"infobip", infobipBlock},
		{"messagebird", messagebirdBlock},
		{"messagebird legacy", messagebirdLegacyBlock},
	}
	for i, p := range providers {
		t.Run(p.name, func(t *testing.T) { walkProvider(t, p.name, p.block, 600+10*i) })
	}
}

// TestIntegrationFailoverMore: the new providers as failover members, a
// failing one and one that takes the message.
func TestIntegrationFailoverMore(t *testing.T) {
	gw := fakegw.NewGateways(t)
	down := fakegw.NewGateways(t)
	down.Set("5xx")
	newEnv(t, opts{sms: "sms failover {\n" + snsBlock(down.URL()) + "\n" + telnyxBlock(down.URL()) + "\n" + infobipBlock(gw.URL()) + "\n}"})
	b := newBrowser()
	const phone = "+12015550790"
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	if down.Sent(phone) != 0 || gw.Sent(phone) != 1 {
		t.Fatalf("delivered %d by the failing members, %d by infobip", down.Sent(phone), gw.Sent(phone))
	}
	b.postJSON(t, prefix+"/verify", `{"code":"`+gw.ReadCode(t, phone)+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
}

// Blocks of the providers added in issue 17, pointing at the fake
// gateways, with a short timeout so a hanging gateway fails fast.

func snsBlock(url string) string {
	return fmt.Sprintf(`sms aws_sns {
			region            %s
			access_key_id     %s
			secret_access_key %s
			sender_id         TestBrand
			endpoint          %s
			timeout           300ms
		}`, fakegw.SNSRegion, fakegw.SNSAccessKey, fakegw.SNSSecretKey, url)
}

func telnyxBlock(url string) string {
	return fmt.Sprintf(`sms telnyx {
			api_key  %s
			from     +12015550100
			endpoint %s
			timeout  300ms
		}`, fakegw.TelnyxKey, url)
}

func plivoBlock(url string) string {
	return fmt.Sprintf(`sms plivo {
			auth_id    %s
			auth_token %s
			src        +12015550100
			endpoint   %s
			timeout    300ms
		}`, fakegw.PlivoAuthID, fakegw.PlivoAuthToken, url)
}

func sinchBlock(url string) string {
	return fmt.Sprintf(`sms sinch {
			service_plan_id %s
			api_token       %s
			from            TestBrand
			endpoint        %s
			timeout         300ms
		}`, fakegw.SinchServicePlan, fakegw.SinchToken, url)
}

func infobipBlock(url string) string {
	return fmt.Sprintf(`sms infobip {
			api_key  %s
			base_url %s
			sender   TestBrand
			timeout  300ms
		}`, fakegw.InfobipKey, url)
}

func messagebirdBlock(url string) string {
	return fmt.Sprintf(`sms messagebird {
			access_key   %s
			workspace_id %s
			channel_id   %s
			endpoint     %s
			timeout      300ms
		}`, fakegw.BirdAccessKey, fakegw.BirdWorkspace, fakegw.BirdChannel, url)
}

func messagebirdLegacyBlock(url string) string {
	return fmt.Sprintf(`sms messagebird {
			access_key %s
			api        legacy
			originator TestBrand
			endpoint   %s
			timeout    300ms
		}`, fakegw.BirdAccessKey, url)
}
