package caddyotp

import (
	"errors"
	"net/http"
	"time"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/phone"
)

func (h *Handler) send(w http.ResponseWriter, r *http.Request, in *input) {
	if h.users != nil {
		// The phone is the listed one; whatever the client sent is ignored.
		_, phone, ref := h.userPhone(r)
		if ref != nil {
			h.refuse(w, r, in.form, ref, in)
			return
		}
		h.sendCode(w, r, in, phone, safeReturn(in.Return), h.Prefix+"/verify")
		return
	}
	region := h.region
	if in.Country != "" {
		if phone.CheckCountry(in.Country) != nil {
			h.refuse(w, r, in.form, refuse(kindInvalidPhone), in)
			return
		}
		region = in.Country
	}
	phone, err := phone.ParseForSend(in.Phone, region)
	if err != nil {
		// What was typed is not logged: it may be a phone number all the same.
		h.audit.send(r, "", challenge{}, "", refuse(kindInvalidPhone))
		h.refuse(w, r, in.form, refuse(kindInvalidPhone), in)
		return
	}
	h.sendCode(w, r, in, phone, safeReturn(in.Return), h.Prefix+"/verify")
}

// sendCode sends a code to phone and answers: JSON, or for forms a
// redirect to next (the code page).
func (h *Handler) sendCode(w http.ResponseWriter, r *http.Request, in *input, phone, ret, next string) {
	channel, cref := h.channelOf(r, in, phone)
	if cref != nil {
		h.refuse(w, r, in.form, cref, in)
		return
	}
	host, ok := h.smsHost(r)
	if !ok {
		// Nothing is sent for a Host nobody configured (see origin.go).
		h.audit.send(r, phone, challenge{}, "", refuse(kindUnknownHost))
		h.refuse(w, r, in.form, refuse(kindUnknownHost), in)
		return
	}
	sent, err := h.flow.SendVia(r.Context(), phone, clientIP(r), host, channel)
	if err != nil {
		ref := asRefusal(err)
		if fr := (*flow.Refusal)(nil); errors.As(err, &fr) && fr.Again {
			h.audit.ipRefusedAgain()
		} else {
			h.audit.send(r, phone, sent.Challenge, "", ref)
		}
		h.refuse(w, r, in.form, ref, in)
		return
	}
	if sent.Flagged != "" {
		h.audit.flagged(r, phone, sent.Challenge, sent.Flagged)
	} else {
		h.audit.send(r, phone, sent.Challenge, sent.Reason, nil) // Reason is "" when it was texted
	}
	if sent.Paused != nil {
		h.audit.paused(phone, sent.Paused, h.PumpingOptions.Mode == modeMonitor)
	}
	tok, err := h.chTokens.Sign(sent.Challenge, ret)
	if err != nil {
		h.refuse(w, r, in.form, unavailable("sign", err), in)
		return
	}
	// The challenge cookie outlives the code a little, so that a late
	// visitor is told "expired" rather than "start again".
	h.setCookie(w, r, h.challengeCookie(), tok, h.Prefix, sent.Expires.Sub(h.now())+challengeGrace, http.SameSiteStrictMode)
	if in.form {
		noStore(w)
		http.Redirect(w, r, calledNext(next, channel), http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":       "sent",
		"channel":      channelName(channel),
		"expires_in":   seconds(time.Duration(h.CodeTTL)),
		"resend_after": seconds(time.Duration(h.ResendAfter)),
	})
}

// challengeGrace is how long the challenge cookie outlives its code.
const challengeGrace = 15 * time.Minute

// resend sends a new code to the phone of the browser's pending challenge:
// the code page's "Send a new code" button (and "Call me instead", with
// channel=call), a plain form that works without JavaScript. The phone comes from the signed challenge cookie,
// never from the request, so resend can only reach a number this browser
// already asked a code for. The usual limits apply (resend_after first).
func (h *Handler) resend(w http.ResponseWriter, r *http.Request, in *input) {
	ch, ret, ref := h.pendingChallenge(r)
	if ref != nil {
		h.refuse(w, r, in.form, ref, in)
		return
	}
	if _, ref := h.challengeUser(r, ch); ref != nil {
		h.refuse(w, r, in.form, ref, in)
		return
	}
	h.sendCode(w, r, in, ch.Phone, ret, h.Prefix+"/verify?resent=1")
}

// pendingChallenge reads the challenge cookie as challengeFromRequest does,
// but also takes one whose code expired less than challengeGrace ago: the
// page that says "this code has expired" must still know the number, to
// show it and to send a new code to it. Verifying still needs a live one.
func (h *Handler) pendingChallenge(r *http.Request) (challenge, string, *refusal) {
	return h.readChallenge(r, h.chTokens.ParseLate)
}
