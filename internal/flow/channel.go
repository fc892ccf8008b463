package flow

import (
	"context"

	"github.com/caddyotp/caddyotp/sms"
)

// Send makes a code for phone and has the provider deliver it on its own
// channel (see SendVia).
func (f *Flow) Send(ctx context.Context, phone, ip, host string) (Sent, error) {
	return f.send(ctx, phone, ip, host, sms.ChannelDefault)
}

// SendVia is Send on a channel: sms.ChannelDefault, or sms.ChannelCall
// for "Call me instead", which only a Flow whose Sender can call takes
// (else InvalidRequest, and nothing is counted). A call is a send like
// any other: the same limits, the resend gap after the last code, the
// same block, and the code it reads replaces the one texted before.
func (f *Flow) SendVia(ctx context.Context, phone, ip, host, channel string) (Sent, error) {
	switch channel {
	case sms.ChannelDefault:
	case sms.ChannelCall:
		if !f.CanCall {
			return Sent{}, refuse(InvalidRequest)
		}
	default:
		return Sent{}, refuse(InvalidRequest)
	}
	return f.send(ctx, phone, ip, host, channel)
}

// text is the message for code: the SMS text, or for a call the words
// the voice reads, the digits slowly, twice.
func (f *Flow) text(code, host, channel string) string {
	if channel == sms.ChannelCall {
		return sms.VoiceText(code, host)
	}
	return f.Message(code, host)
}
