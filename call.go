package caddyotp

import (
	"net/http"
	"strings"

	"github.com/caddyotp/caddyotp/sms"
)

// "Call me instead": the code page's second button, and "channel":"call"
// in the JSON API, have the code read out by a voice call. A call is a
// send (flow.SendVia): the same limits and block, counted as a code, and
// possible only once resend_after has passed since the last one. It
// needs a provider that can call (sms.OffersCall), or a second one for
// calls, the `call` option (reach.go).

// channelOf is the channel a send asks for: a text ("" or "sms") or a
// call. A call goes only to a number this browser was already sent a
// code for (its pending challenge): it is instead of a text, never the
// first contact, since calls cost more than texts and are what a pumper
// would pick. Anything else is invalid_request, and nothing is sent.
func (h *Handler) channelOf(r *http.Request, in *input, phone string) (string, *refusal) {
	switch in.Channel {
	case "", "sms":
		return sms.ChannelDefault, nil
	case "call":
	default:
		return "", refuse(kindInvalidRequest)
	}
	if !h.canCall {
		return "", refuse(kindInvalidRequest)
	}
	if ch, _, ref := h.pendingChallenge(r); ref != nil || ch.Phone != phone {
		return "", refuse(kindInvalidRequest)
	}
	return sms.ChannelCall, nil
}

// channelName is the JSON answer's "channel".
func channelName(channel string) string {
	if channel == sms.ChannelCall {
		return "call"
	}
	return "sms"
}

// calledNext is where a form send goes next: the code page, which says
// "we're calling you" after a call.
func calledNext(next, channel string) string {
	if channel != sms.ChannelCall {
		return next
	}
	next, _, _ = strings.Cut(next, "?")
	return next + "?called=1"
}
