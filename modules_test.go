package caddyotp

import (
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/sms"
)

// TestModulesRegistered: importing the root registers every provider
// that ships with phone_otp.
func TestModulesRegistered(t *testing.T) {
	for _, name := range []string{"twilio", "twilio_verify", "vonage", "webhook", "failover", "log", "dexatel", "aws_sns", "messagebird", "infobip", "sinch", "plivo", "telnyx"} {
		mod, err := caddy.GetModule(sms.Namespace + "." + name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, ok := mod.New().(sms.Provider); !ok {
			t.Errorf("%s is not a Provider", name)
		}
	}
}
