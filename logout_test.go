package caddyotp

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/session"
)

// signIn gives v a session for phone through send and verify.
func signIn(t *testing.T, v *visitor, sender *fakeSMS, phone string) string {
	t.Helper()
	code := sendJSON(t, v, sender, phone)
	wantJSON(t, v.doJSON("POST", "/_otp/verify", `{"code":"`+code+`"}`), 200, map[string]any{"status": "verified"})
	return v.cookies[v.h.CookieName]
}

func TestLogoutJSONRevokes(t *testing.T) {
	h, sender := newPageHandler(t, pageCfg, newClock())
	v := newVisitor(t, h, "")
	tok := signIn(t, v, sender, phoneA)

	w := v.doJSON("POST", "/_otp/logout", `{}`)
	wantJSON(t, w, 200, map[string]any{"status": "logged_out"})
	if ck := setCookie(w, h.CookieName); ck == nil || ck.MaxAge >= 0 || ck.Path != "/" {
		t.Errorf("session cookie not cleared: %+v", ck)
	}
	// The token itself is dead, not only the cookie: a copy of it is refused.
	thief := newVisitor(t, h, "")
	thief.cookies[h.CookieName] = tok
	wantJSON(t, thief.doJSON("GET", "/app", ""), 401, map[string]any{"error": "otp_required"})
	// With no session, logout still answers and clears.
	wantJSON(t, newVisitor(t, h, "").doJSON("POST", "/_otp/logout", `{}`), 200, map[string]any{"status": "logged_out"})
}

func TestLogoutForm(t *testing.T) {
	h, sender := newPageHandler(t, pageCfg, newClock())
	v := newVisitor(t, h, "")
	signIn(t, v, sender, phoneA)
	v.do("GET", "/_otp/logout", nil)
	w := v.do("POST", "/_otp/logout", url.Values{})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/_otp/" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("form logout: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if w := v.doJSON("GET", "/app", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("after logout upstream answers %d", w.Code)
	}
}

// TestLogoutStoreDown: a revocation that cannot be written is a 503, not
// a "logged out" while the token would still pass elsewhere.
func TestLogoutStoreDown(t *testing.T) {
	h, sender := newPageHandler(t, pageCfg, newClock())
	v := newVisitor(t, h, "")
	signIn(t, v, sender, phoneA)
	h.sessions = session.New(h.keys.Session, h.Issuer, time.Duration(h.SessionTTL), brokenStore{}, "t", h.now)
	wantJSON(t, v.doJSON("POST", "/_otp/logout", `{}`), 503, map[string]any{"error": "unavailable"})
}
