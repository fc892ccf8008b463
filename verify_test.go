package caddyotp

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/session"
)

// sendJSON asks a code for phone as v and returns it.
func sendJSON(t *testing.T, v *visitor, sender *fakeSMS, phone string) string {
	t.Helper()
	wantJSON(t, v.doJSON("POST", "/_otp/send", `{"phone":"`+phone+`","return":"/app"}`), 200, map[string]any{"status": "sent"})
	return sender.Last(t).Code
}

func TestVerifyJSON(t *testing.T) {
	h, sender := newPageHandler(t, pageCfg, newClock())
	v := newVisitor(t, h, "")
	code := sendJSON(t, v, sender, phoneA)

	wantJSON(t, v.doJSON("POST", "/_otp/verify", `{"code":"`+wrongCode(code)+`"}`), 401,
		map[string]any{"error": "invalid_code", "attempts_left": 2})
	if v.cookies[h.CookieName] != "" {
		t.Fatal("a wrong code set a session cookie")
	}
	// Spaces and dashes in the code are the visitor's typing, not a guess.
	w := v.doJSON("POST", "/_otp/verify", `{"code":"`+code[:3]+" "+code[3:]+`"}`)
	wantJSON(t, w, 200, map[string]any{"status": "verified", "return": "/app"})
	sc := setCookie(w, h.CookieName)
	if sc == nil || sc.Path != "/" || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.MaxAge != int((12*time.Hour).Seconds()) {
		t.Errorf("session cookie %+v", sc)
	}
	if ck := setCookie(w, h.challengeCookie()); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("challenge cookie not cleared: %+v", ck)
	}
	wantJSON(t, v.doJSON("GET", "/_otp/session", ""), 200, map[string]any{"phone": phoneA})
	if w := v.doJSON("GET", "/app", ""); w.Code != http.StatusTeapot {
		t.Errorf("upstream with the new session: %d", w.Code)
	}
}

func TestVerifyRefusals(t *testing.T) {
	c := newClock()
	h, sender := newPageHandler(t, pageCfg, c)

	t.Run("no challenge", func(t *testing.T) {
		wantJSON(t, newVisitor(t, h, "").doJSON("POST", "/_otp/verify", `{"code":"123456"}`), 400, map[string]any{"error": "invalid_request"})
	})
	t.Run("forged challenge", func(t *testing.T) {
		v := newVisitor(t, h, "")
		v.cookies[h.challengeCookie()] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIrMTIwMTU1NTAxMjMifQ."
		wantJSON(t, v.doJSON("POST", "/_otp/verify", `{"code":"123456"}`), 400, map[string]any{"error": "invalid_request"})
	})
	t.Run("expired code", func(t *testing.T) {
		v := newVisitor(t, h, "")
		code := sendJSON(t, v, sender, phoneB)
		c.Step(5*time.Minute + time.Second)
		wantJSON(t, v.doJSON("POST", "/_otp/verify", `{"code":"`+code+`"}`), 410, map[string]any{"error": "expired"})
		if v.cookies[h.CookieName] != "" {
			t.Error("an expired code signed in")
		}
	})
	t.Run("form", func(t *testing.T) {
		v := newVisitor(t, h, "")
		v.do("GET", "/_otp/", nil)
		v.do("POST", "/_otp/send", url.Values{"phone": {"+12015550125"}, "return": {"/deep"}})
		wantIn(t, v.do("POST", "/_otp/verify", url.Values{"code": {wrongCode(sender.Last(t).Code)}}), 401, "That code isn't right. 2 attempts left.")
		w := v.do("POST", "/_otp/verify", url.Values{"code": {sender.Last(t).Code}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/deep" {
			t.Errorf("form verify: %d to %q", w.Code, w.Header().Get("Location"))
		}
	})
}

func TestSessionEndpoint(t *testing.T) {
	h, sender := newPageHandler(t, pageCfg, newClock())
	v := newVisitor(t, h, "")
	wantJSON(t, v.doJSON("GET", "/_otp/session", ""), 401, map[string]any{"error": "otp_required", "login": "/_otp/"})
	code := sendJSON(t, v, sender, phoneA)
	v.doJSON("POST", "/_otp/verify", `{"code":"`+code+`"}`)
	got := wantJSON(t, v.doJSON("GET", "/_otp/session", ""), 200, map[string]any{"phone": phoneA})
	if exp, _ := got["expires_at"].(float64); int64(exp) != h.now().Add(12*time.Hour).Unix() {
		t.Errorf("expires_at %v, want 12h from now", got["expires_at"])
	}
	if _, ok := got["user"]; ok {
		t.Errorf("a session without users_file has a user: %v", got)
	}
	// A session that cannot be checked for revocation fails closed.
	h.sessions = session.New(h.keys.Session, h.Issuer, time.Duration(h.SessionTTL), brokenStore{}, "t", h.now)
	wantJSON(t, v.doJSON("GET", "/_otp/session", ""), 503, map[string]any{"error": "unavailable"})
}
