package caddysms_test

import (
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms"
	"github.com/caddyotp/caddyotp/sms/twilio"
)

// TestCheckLimit: Twilio Verify's five checks a verification reach the
// flow through failover and a `call` pair, as the member that sent the
// code (named by its Ref) has them; a provider without a limit has none.
func TestCheckLimit(t *testing.T) {
	tv, local := &twilio.TwilioVerify{}, &caddysms.Log{}
	fo := caddysms.FailoverOver([]string{"twilio_verify", "log"}, tv, local)
	pair := sms.WithCalls(local, tv)
	for _, tt := range []struct {
		name   string
		p      sms.Provider
		ref    string
		checks int
	}{
		{"twilio_verify", tv, "", 5},
		{"log", local, "", 0},
		{"failover, first member", fo, "0.twilio_verify", 5},
		{"failover, second member", fo, "1.log", 0},
		{"failover, a member since replaced", fo, "0.dexatel", 0},
		{"call pair, a text", pair, "sms/", 0},
		{"call pair, a call", pair, "call/", 5},
		{"twilio_verify as the call provider", sms.WithCalls(tv, local), "call/", 0},
	} {
		n, life := sms.CheckLimit(tt.p, tt.ref)
		if n != tt.checks || (n > 0) != (life == 10*time.Minute) {
			t.Errorf("%s (ref %q): %d checks for %v, want %d", tt.name, tt.ref, n, life, tt.checks)
		}
	}
}
