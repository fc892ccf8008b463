package caddyotp

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/sms"
)

// remember_device (see session.Devices): a remembered device stands in
// for the second factor only; the first (basic_auth) is still asked on
// every request, which is why remember_device needs users_file.

// deviceSession issues a session, without an SMS, to a request that has
// none but carries a remembered device of its first-factor user. It
// returns why not otherwise: fail is returned for a missing or unusable
// device, so the caller answers as it would have; a store error fails
// closed.
func (h *Handler) deviceSession(w http.ResponseWriter, r *http.Request, fail error) (*session.Verified, error) {
	tok, ok := cookieValue(r.Header["Cookie"], h.deviceCookie())
	if !ok {
		return nil, fail
	}
	user, phone, ref := h.userPhone(r)
	if ref != nil {
		return nil, fail
	}
	// The rules that end a session end a remembered device too: users_file
	// (user and phone, in check) and allow, allow_file, countries here.
	if !h.flow.Policy.Permits(phone) {
		return nil, fail
	}
	dc, err := h.devices.Check(r.Context(), tok, user, phone)
	if err != nil {
		if session.IsStoreError(err) {
			return nil, err
		}
		return nil, fail
	}
	stok, c, err := h.sessions.Issue(phone, user, h.boundIP(r))
	if err != nil {
		return nil, &session.StoreError{Err: err}
	}
	v, err := h.sessions.Lookup(r.Context(), stok)
	if err != nil {
		return nil, err
	}
	h.setCookie(w, r, h.CookieName, stok, "/", time.Duration(h.SessionTTL), http.SameSiteLaxMode)
	h.logger.Info("session from remembered device", zap.String("phone", sms.MaskPhone(phone)),
		zap.String("client_ip", clientIP(r)), zap.String("device", dc.ID), zap.String("session", c.ID))
	return v, nil
}

// rememberDevice sets the device cookie after a verified code, if the
// visitor asked for it and remember_device is on.
func (h *Handler) rememberDevice(w http.ResponseWriter, r *http.Request, in *input, user, phone string) {
	if h.devices == nil || !in.Remember || user == "" {
		return
	}
	tok, err := h.devices.Issue(user, phone)
	if err != nil {
		h.logger.Error("cannot remember device", zap.Error(err))
		return
	}
	h.setCookie(w, r, h.deviceCookie(), tok, "/", time.Duration(h.RememberDevice), http.SameSiteLaxMode)
}

// forgetDevice revokes the browser's device cookie server-side and clears
// it: logout's "forget this browser".
func (h *Handler) forgetDevice(w http.ResponseWriter, r *http.Request) error {
	h.clearCookie(w, r, h.deviceCookie(), "/")
	ck, err := r.Cookie(h.deviceCookie())
	if err != nil || h.devices == nil {
		return nil
	}
	c, err := h.devices.Parse(ck.Value)
	if err != nil {
		return nil // nothing a forged or expired cookie could still open
	}
	if err := h.devices.Revoke(r.Context(), c); err != nil {
		return err
	}
	h.logger.Info("device forgotten", zap.String("phone", sms.MaskPhone(c.Subject)), zap.String("device", c.ID))
	return nil
}

// boundIP is the client IP to put in a new session: with bind_ip only.
func (h *Handler) boundIP(r *http.Request) string {
	if h.BindIP {
		return clientIP(r)
	}
	return ""
}
