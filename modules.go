package caddyotp

// The SMS providers and the stores that ship with phone_otp: each
// registers its Caddy module when imported, as Caddy's modules/standard
// registers Caddy's own, so that `xcaddy build --with
// github.com/caddyotp/caddyotp` builds them all in.
import (
	_ "github.com/caddyotp/caddyotp/sms/awssns"
	_ "github.com/caddyotp/caddyotp/sms/caddysms" // failover and log
	_ "github.com/caddyotp/caddyotp/sms/dexatel"
	_ "github.com/caddyotp/caddyotp/sms/infobip"
	_ "github.com/caddyotp/caddyotp/sms/messagebird"
	_ "github.com/caddyotp/caddyotp/sms/plivo"
	_ "github.com/caddyotp/caddyotp/sms/sinch"
	_ "github.com/caddyotp/caddyotp/sms/telnyx"
	_ "github.com/caddyotp/caddyotp/sms/twilio" // twilio and twilio_verify
	_ "github.com/caddyotp/caddyotp/sms/vonage"
	_ "github.com/caddyotp/caddyotp/sms/webhook"
	_ "github.com/caddyotp/caddyotp/store/memory"
	_ "github.com/caddyotp/caddyotp/store/redis"
)
