package caddyotp

import (
	"net/http"
)

// resend sends a new code to the phone of the browser's pending challenge:
// the code page's "Send a new code" button, a plain form that works
// without JavaScript. The phone comes from the signed challenge cookie,
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
