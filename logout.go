package caddyotp

import (
	"net/http"

	"github.com/caddyotp/caddyotp/internal/session"
)

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, in *input) {
	h.clearCookie(w, r, h.CookieName, "/")
	if in.Forget {
		if err := h.forgetDevice(w, r); err != nil {
			h.audit.logout(r, nil, err)
			h.refuse(w, r, in.form, unavailable("revoke", err), in)
			return
		}
	}
	var c *session.Claims
	ck, err := r.Cookie(h.CookieName)
	if err == nil {
		c, _ = h.sessions.Parse(ck.Value)
	}
	if c != nil {
		if err := h.sessions.Revoke(r.Context(), ck.Value, c); err != nil {
			// The cookie is cleared, but the token would still pass
			// elsewhere: say so rather than pretend.
			h.audit.logout(r, c, err)
			h.refuse(w, r, in.form, unavailable("revoke", err), in)
			return
		}
	}
	h.audit.logout(r, c, nil)
	if in.form {
		noStore(w)
		http.Redirect(w, r, h.Prefix+"/", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "logged_out"})
}
