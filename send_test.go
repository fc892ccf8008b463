package caddyotp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestResend(t *testing.T) {
	c := newClock()
	h, sender := newPageHandler(t, pageCfg, c)
	v := newVisitor(t, h, "")
	v.do("GET", "/_otp/", nil)
	v.do("POST", "/_otp/send", url.Values{"phone": {"+12015550123"}, "return": {"/deep"}})
	old := sender.Last(t).Code

	// Too early: the code page says how long to wait, and sends nothing.
	c.Step(10 * time.Second)
	w := v.do("POST", "/_otp/resend", url.Values{})
	wantIn(t, w, 429, "Too many tries — try again in 20 seconds.", "+1******0123")
	if w.Header().Get("Retry-After") != "20" || sender.Count() != 1 {
		t.Errorf("Retry-After %q, %d SMS", w.Header().Get("Retry-After"), sender.Count())
	}

	c.Step(21 * time.Second)
	w = v.do("POST", "/_otp/resend", url.Values{})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/_otp/verify?resent=1" {
		t.Fatalf("resend: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if sender.Count() != 2 || sender.Last(t).Phone != "+12015550123" {
		t.Fatalf("resend sent %d SMS, last to %s", sender.Count(), sender.Last(t).Phone)
	}
	w = v.do("GET", "/_otp/verify?resent=1", nil)
	wantIn(t, w, 200, "We sent a new code to +1******0123.", "The code expires in 5 minutes.")
	if !strings.Contains(w.Body.String(), `role="status"`) {
		t.Error("the notice is not a status for screen readers")
	}

	// The old code was replaced; the new one signs in, to the deep link.
	if old != sender.Last(t).Code {
		wantIn(t, v.do("POST", "/_otp/verify", url.Values{"code": {old}}), 401, "That code isn't right.")
	}
	w = v.do("POST", "/_otp/verify", url.Values{"code": {sender.Last(t).Code}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/deep" {
		t.Errorf("verify after resend: %d to %q", w.Code, w.Header().Get("Location"))
	}

	t.Run("JSON", func(t *testing.T) {
		c.Step(time.Minute)
		w := v.doJSON("POST", "/_otp/resend", `{}`)
		// The challenge was used up by the sign-in: nothing to resend.
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"invalid_request"`) {
			t.Errorf("resend with no pending code: %d %s", w.Code, w.Body)
		}
	})
	t.Run("no challenge, form", func(t *testing.T) {
		v := newVisitor(t, h, "")
		v.do("GET", "/_otp/", nil)
		wantIn(t, v.do("POST", "/_otp/resend", url.Values{}), 400, "Start again")
	})
}

func TestSendJSON(t *testing.T) {
	h, sender := newPageHandler(t, pageCfg, newClock())
	v := newVisitor(t, h, "")
	w := v.doJSON("POST", "/_otp/send", `{"phone":"+1 (201) 555-0123"}`)
	wantJSON(t, w, 200, map[string]any{"status": "sent", "channel": "sms", "expires_in": 300, "resend_after": 30})
	if sender.Count() != 1 || sender.Last(t).Phone != "+12015550123" {
		t.Fatalf("%d SMS, want one to +12015550123", sender.Count())
	}
	ck := setCookie(w, h.challengeCookie())
	if ck == nil || ck.Path != "/_otp" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("challenge cookie %+v, want HttpOnly, SameSite=Strict, Path /_otp", ck)
	}
	// The cookie outlives the code by challengeGrace, to tell "expired".
	if want := int((5*time.Minute + challengeGrace).Seconds()); ck.MaxAge != want {
		t.Errorf("challenge cookie Max-Age %d, want %d", ck.MaxAge, want)
	}
	ch, ret, err := h.chTokens.Parse(ck.Value)
	if err != nil || ch.Phone != "+12015550123" || ret != "/" {
		t.Errorf("challenge token: %+v, return %q, %v", ch, ret, err)
	}

	for _, tc := range []struct{ name, body, code string }{
		{"bad phone", `{"phone":"12"}`, "invalid_phone"},
		{"no phone", `{}`, "invalid_phone"},
	} {
		w := newVisitor(t, h, "").doJSON("POST", "/_otp/send", tc.body)
		wantJSON(t, w, 400, map[string]any{"error": tc.code})
		if setCookie(w, h.challengeCookie()) != nil {
			t.Errorf("%s: a challenge cookie was set", tc.name)
		}
	}
	if sender.Count() != 1 {
		t.Errorf("refused sends texted: %d SMS", sender.Count())
	}
}

func TestSendFormRedirectsToCodePage(t *testing.T) {
	h, sender := newPageHandler(t, pageCfg, newClock())
	v := newVisitor(t, h, "")
	v.do("GET", "/_otp/?return=%2Fdeep", nil)
	w := v.do("POST", "/_otp/send", url.Values{"phone": {"+12015550123"}, "return": {"/deep"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/_otp/verify" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("form send: %d to %q, Cache-Control %q", w.Code, w.Header().Get("Location"), w.Header().Get("Cache-Control"))
	}
	if _, ret, err := h.chTokens.Parse(v.cookies[h.challengeCookie()]); err != nil || ret != "/deep" || sender.Count() != 1 {
		t.Errorf("challenge return %q, %v; %d SMS", ret, err, sender.Count())
	}
}
