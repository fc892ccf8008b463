package caddyotp

import (
	"errors"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/session"
)

// challenge is the flow's challenge, which session.ChallengeTokens sign
// into the challenge cookie and read back (session.Challenge is the same
// type).
type challenge = flow.Challenge

// challengeFromRequest reads the challenge cookie. An expired one is told
// apart from a missing or forged one.
func (h *Handler) challengeFromRequest(r *http.Request) (challenge, string, *refusal) {
	return h.readChallenge(r, h.chTokens.Parse)
}

// readChallenge reads the challenge cookie with parse (ChallengeTokens'
// Parse or ParseLate).
func (h *Handler) readChallenge(r *http.Request, parse func(string) (challenge, string, error)) (challenge, string, *refusal) {
	ck, err := r.Cookie(h.challengeCookie())
	if err != nil {
		return challenge{}, "", refuse(kindInvalidRequest)
	}
	ch, ret, err := parse(ck.Value)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return challenge{}, "", refuse(kindExpired)
	}
	if err != nil {
		return challenge{}, "", refuse(kindInvalidRequest)
	}
	return ch, ret, nil
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request, in *input) {
	ch, ret, ref := h.challengeFromRequest(r)
	if ref != nil {
		h.audit.verify(r, "", nil, ref)
		h.refuse(w, r, in.form, ref, in)
		return
	}
	user, ref := h.challengeUser(r, ch)
	if ref != nil {
		h.refuse(w, r, in.form, ref, in)
		return
	}
	code := normalizeCode(in.Code)
	if err := h.flow.Verify(r.Context(), ch, code); err != nil {
		ref := asRefusal(err)
		h.audit.verify(r, ch.Phone, nil, ref)
		h.refuse(w, r, in.form, ref, in)
		return
	}
	tok, c, err := h.sessions.Issue(ch.Phone, user, h.boundIP(r))
	if err != nil {
		h.audit.verify(r, ch.Phone, nil, unavailable("sign", err))
		h.refuse(w, r, in.form, unavailable("sign", err), in)
		return
	}
	h.audit.verify(r, ch.Phone, c, nil)
	h.setCookie(w, r, h.CookieName, tok, "/", time.Duration(h.SessionTTL), http.SameSiteLaxMode)
	h.clearCookie(w, r, h.challengeCookie(), h.Prefix)
	h.rememberDevice(w, r, in, user, ch.Phone)
	if in.form {
		noStore(w)
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "verified", "return": ret})
}

func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	c, err := h.sessionFromRequest(r)
	if session.IsStoreError(err) {
		writeRefusalJSON(w, refuse(kindUnavailable), "")
		return
	}
	if err != nil {
		writeRefusalJSON(w, refuse(kindLoginRequired), h.Prefix+"/")
		return
	}
	body := map[string]any{"phone": c.Subject, "expires_at": c.ExpiresAt.Unix()}
	if c.User != "" {
		body["user"] = c.User
	}
	writeJSON(w, http.StatusOK, body)
}
