package caddyotp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/sms"
)

// callCfg has a provider that can call (log), replaced by the fake.
const callCfg = `{"sms":{"provider":"log"},"limit_phone":3,"secret":"` + longSecret + `"}`

// postJSON posts body as JSON with v's cookies.
func (v *visitor) postJSON(path, body string) *httptest.ResponseRecorder {
	v.t.Helper()
	r := httptest.NewRequest("POST", "http://example.com"+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, val := range v.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: val})
	}
	w := httptest.NewRecorder()
	if err := v.h.ServeHTTP(w, r, nil); err != nil {
		v.t.Fatal(err)
	}
	return w
}

// TestCallMeInstead: the code page offers a call; it waits for the
// resend gap, reads the code slowly twice, replaces the texted code, says
// "we're calling", and counts against limit_phone like any code.
func TestCallMeInstead(t *testing.T) {
	c := newClock()
	h, sender := newPageHandler(t, callCfg, c)
	v := newVisitor(t, h, "")
	v.do("GET", "/_otp/", nil)
	v.do("POST", "/_otp/send", url.Values{"phone": {"+12015550123"}})
	w := v.do("GET", "/_otp/verify", nil)
	if !strings.Contains(w.Body.String(), `id="call" name="channel" value="call"`) {
		t.Fatalf("code page offers no call:\n%s", w.Body)
	}
	wantIn(t, w, 200, "Call me instead")

	c.Step(10 * time.Second)
	wantIn(t, v.do("POST", "/_otp/resend", url.Values{"channel": {"call"}}), 429, "Too many tries — try again in 20 seconds.")
	if sender.Count() != 1 {
		t.Fatalf("an early call was made: %d sends", sender.Count())
	}
	texted := sender.Last(t).Code

	c.Step(21 * time.Second)
	w = v.do("POST", "/_otp/resend", url.Values{"channel": {"call"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/_otp/verify?called=1" {
		t.Fatalf("call: %d to %q", w.Code, w.Header().Get("Location"))
	}
	m := sender.Last(t)
	if sender.Count() != 2 || m.Channel != sms.ChannelCall || m.Phone != "+12015550123" || m.Text != sms.VoiceText(m.Code, "example.com") {
		t.Fatalf("call message %+v (%d sends)", m, sender.Count())
	}
	wantIn(t, v.do("GET", "/_otp/verify?called=1", nil), 200, "We're calling +1******0123 now.")
	if texted != m.Code {
		wantIn(t, v.do("POST", "/_otp/verify", url.Values{"code": {texted}}), 401, "That code isn't right.")
	}

	// JSON: "channel":"call" on /send, to the number of the pending code.
	c.Step(31 * time.Second)
	w = v.postJSON("/_otp/send", `{"phone":"+12015550123","channel":"call"}`)
	var got map[string]any
	if json.Unmarshal(w.Body.Bytes(), &got); w.Code != 200 || got["channel"] != "call" || got["status"] != "sent" {
		t.Fatalf("JSON call: %d %s", w.Code, w.Body)
	}
	// limit_phone 3: the two calls counted with the text.
	c.Step(31 * time.Second)
	if w := v.postJSON("/_otp/resend", `{"channel":"call"}`); w.Code != 429 || !strings.Contains(w.Body.String(), `"rate_limited"`) {
		t.Errorf("fourth send with limit_phone 3: %d %s", w.Code, w.Body)
	}
	if sender.Count() != 3 {
		t.Errorf("%d sends, want 3", sender.Count())
	}
	// And "sms" is a text, said so in the answer.
	if w := v.postJSON("/_otp/send", `{"phone":"+12015550124","channel":"sms"}`); w.Code != 200 || !strings.Contains(w.Body.String(), `"channel":"sms"`) {
		t.Errorf("channel sms: %d %s", w.Code, w.Body)
	}
}

// TestCallRefused: a call is invalid_request, and nothing is sent, for a
// number this browser has no pending code for, for an unknown channel,
// and where no provider can call; then the page offers none.
func TestCallRefused(t *testing.T) {
	c := newClock()
	h, sender := newPageHandler(t, callCfg, c)
	v := newVisitor(t, h, "")
	for _, body := range []string{
		`{"phone":"+12015550123","channel":"call"}`, // no pending code
		`{"phone":"+12015550123","channel":"fax"}`,
	} {
		if w := v.postJSON("/_otp/send", body); w.Code != 400 || !strings.Contains(w.Body.String(), `"invalid_request"`) {
			t.Errorf("%s: %d %s", body, w.Code, w.Body)
		}
	}
	v.postJSON("/_otp/send", `{"phone":"+12015550123"}`)
	c.Step(time.Minute)
	if w := v.postJSON("/_otp/send", `{"phone":"+12015550199","channel":"call"}`); w.Code != 400 {
		t.Errorf("call to another number than the pending code's: %d %s", w.Code, w.Body)
	}
	if sender.Count() != 1 {
		t.Errorf("%d sends, want only the first text", sender.Count())
	}

	// Dexatel without voice_template cannot call.
	h2, sender2 := newPageHandler(t, pageCfg, c)
	v2 := newVisitor(t, h2, "")
	v2.do("GET", "/_otp/", nil)
	v2.do("POST", "/_otp/send", url.Values{"phone": {"+12015550123"}})
	w := v2.do("GET", "/_otp/verify", nil)
	if strings.Contains(w.Body.String(), `id="call"`) {
		t.Error("a provider that cannot call: the code page offers a call")
	}
	c.Step(time.Minute)
	wantIn(t, v2.do("POST", "/_otp/resend", url.Values{"channel": {"call"}}), 400)
	if sender2.Count() != 1 {
		t.Errorf("%d sends, want 1", sender2.Count())
	}
}
