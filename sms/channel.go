package sms

import (
	"strings"
)

// Channels a Message can ask for. The empty channel is the provider's
// own (SMS, or what its `channel` option says); ChannelCall asks for a
// voice call that reads the code out, for "Call me instead".
const (
	ChannelDefault = ""
	ChannelCall    = "call"
)

// Caller is implemented by providers that can deliver a Message whose
// Channel is ChannelCall: a voice call that reads the code. CanCall
// reports whether this instance is set up to (dexatel needs a
// voice_template or channel VOICE; twilio_verify always can). The code
// page offers "Call me instead" when the provider can call and does not
// call already (see CallsByDefault), or when a separate `call` provider
// is configured.
type Caller interface {
	Provider
	CanCall() bool
}

// DefaultCaller is implemented by providers whose own channel may be a
// call (twilio_verify's `channel call`, dexatel's `channel VOICE`):
// CallsByDefault reports whether every code already goes out by call,
// so that "Call me instead" has nothing to offer.
type DefaultCaller interface {
	CallsByDefault() bool
}

// CanCall reports whether p can deliver a ChannelCall message.
func CanCall(p Provider) bool {
	c, ok := p.(Caller)
	return ok && c.CanCall()
}

// OffersCall reports whether "Call me instead" means something with p as
// the only provider: it can call, and its codes do not go out by call
// already.
func OffersCall(p Provider) bool {
	d, ok := p.(DefaultCaller)
	return CanCall(p) && !(ok && d.CallsByDefault())
}

// SpokenCode is code as a voice reads it best: digit by digit, each
// followed by a comma so that text-to-speech pauses ("1, 2, 3, 4").
func SpokenCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteRune(r)
	}
	return b.String()
}

// VoiceText is what a call says, for providers whose voice text phone_otp
// writes (Message.Text when Message.Channel is ChannelCall): the site,
// then the code read slowly, twice.
func VoiceText(code, host string) string {
	s := SpokenCode(code)
	return "Your verification code for " + host + " is: " + s + ". I repeat: " + s + "."
}
