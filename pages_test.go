package caddyotp

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/internal/ui"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store/memory"
)

// newPageHandler provisions a handler from a JSON config, then gives it a
// stepped clock, a private memory store on that clock and a fake SMS
// provider, so that pages can be tested across time without sleeping.
func newPageHandler(t *testing.T, cfg string, c *clock) (*Handler, *fakeSMS) {
	t.Helper()
	h := new(Handler)
	if err := json.Unmarshal([]byte(cfg), h); err != nil {
		t.Fatalf("bad test config %s: %v", cfg, err)
	}
	h.now = c.Now
	if h.SiteHosts == nil {
		h.SiteHosts = []string{"example.com"} // httptest's Host, as the Caddyfile would set it
	}
	if err := h.Provision(testContext(t)); err != nil {
		t.Fatal(err)
	}
	sender := &fakeSMS{}
	h.store = memory.New(c.Now)
	h.flow.Store, h.flow.Sender = h.store, sender
	h.sessions = session.New(h.keys.Session, h.Issuer, time.Duration(h.SessionTTL), h.store, "t", h.now)
	if h.devices != nil {
		h.devices = session.NewDevices(h.keys.Device, h.Issuer, time.Duration(h.RememberDevice), h.store, "t", h.now)
	}
	return h, sender
}

// The provider is replaced by a fake; dexatel just provisions quietly.
const pageCfg = `{"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"secret":"` + longSecret + `"}`

// visitor is one browser: its cookies, its language, the last form token.
type visitor struct {
	t       *testing.T
	h       *Handler
	lang    string
	cookies map[string]string
	csrf    string
	user    string // the first factor's user (users_file), if any
}

func newVisitor(t *testing.T, h *Handler, lang string) *visitor {
	return &visitor{t: t, h: h, lang: lang, cookies: map[string]string{}}
}

var csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (v *visitor) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	v.t.Helper()
	var r *http.Request
	if form != nil {
		if v.csrf != "" && !form.Has("csrf") {
			form.Set("csrf", v.csrf)
		}
		r = httptest.NewRequest(method, "http://example.com"+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, "http://example.com"+path, nil)
	}
	r.Header.Set("Accept", "text/html")
	if v.lang != "" {
		r.Header.Set("Accept-Language", v.lang)
	}
	return v.serve(r)
}

// doJSON is do for an API client: body (if any) as JSON, answers in JSON.
func (v *visitor) doJSON(method, path, body string) *httptest.ResponseRecorder {
	v.t.Helper()
	r := httptest.NewRequest(method, "http://example.com"+path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return v.serve(r)
}

// wantJSON checks w's status and that its JSON body holds want's fields,
// and returns the whole body.
func wantJSON(t *testing.T, w *httptest.ResponseRecorder, status int, want map[string]any) map[string]any {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("status %d, body %q is not JSON: %v", w.Code, w.Body, err)
	}
	if w.Code != status {
		t.Errorf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	for k, v := range want {
		b, _ := json.Marshal(v) // as JSON would carry it: numbers are float64
		var norm any
		json.Unmarshal(b, &norm)
		if fmt.Sprint(got[k]) != fmt.Sprint(norm) {
			t.Errorf("%s = %v, want %v; body %s", k, got[k], v, w.Body)
		}
	}
	return got
}

// setCookie is the cookie w sets by name, or nil.
func setCookie(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, ck := range w.Result().Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// serve runs r through the handler with the visitor's cookies, upstream
// being a teapot, and keeps the cookies and form token it got back.
func (v *visitor) serve(r *http.Request) *httptest.ResponseRecorder {
	v.t.Helper()
	method, path := r.Method, r.URL.Path
	if v.user != "" {
		repl := caddy.NewReplacer()
		repl.Set("http.auth.user.id", v.user)
		r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	}
	for k, val := range v.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: val})
	}
	w := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
		w.WriteHeader(http.StatusTeapot)
		return nil
	})
	if err := v.h.ServeHTTP(w, r, next); err != nil {
		v.t.Fatalf("%s %s: %v", method, path, err)
	}
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(v.cookies, ck.Name)
		} else {
			v.cookies[ck.Name] = ck.Value
		}
	}
	if m := csrfFieldRE.FindStringSubmatch(w.Body.String()); m != nil {
		v.csrf = html.UnescapeString(m[1])
	}
	return w
}

// text is a page's body with tags dropped and escapes undone.
func text(w *httptest.ResponseRecorder) string {
	s := regexp.MustCompile(`</?strong>`).ReplaceAllString(w.Body.String(), "")
	s = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

func wantIn(t *testing.T, w *httptest.ResponseRecorder, status int, wants ...string) {
	t.Helper()
	if w.Code != status {
		t.Errorf("status %d, want %d; page: %.300s", w.Code, status, text(w))
	}
	for _, s := range wants {
		if !strings.Contains(text(w), s) {
			t.Errorf("page lacks %q:\n%s", s, text(w))
		}
	}
}

func TestPagesHeadersAndLanguage(t *testing.T) {
	h, _ := newPageHandler(t, pageCfg, newClock())
	for _, tt := range []struct {
		accept, lang, heading string
	}{
		{"", "en", "Verify your phone"},
		{"de-DE,de;q=0.9,en;q=0.8", "de", "Telefonnummer bestätigen"},
		{"de-AT", "de", "Telefonnummer bestätigen"},
		{"fr-FR,fr;q=0.9", "fr", "Vérifiez votre numéro"},
		{"fr;q=0.9,de;q=0.5", "fr", "Vérifiez votre numéro"},
		{"sv-SE,sv;q=0.9,de;q=0.5", "de", "Telefonnummer bestätigen"},
		{"ar-EG", "ar", "تأكيد رقم الهاتف"},
		{"sv-SE", "en", "Verify your phone"},
		{"garbage;;;q=x", "en", "Verify your phone"},
		{strings.Repeat("de,", 300), "en", "Verify your phone"},
	} {
		w := newVisitor(t, h, tt.accept).do("GET", "/_otp/", nil)
		wantIn(t, w, 200, tt.heading)
		if !strings.Contains(w.Body.String(), `<html lang="`+tt.lang+`" dir="`+ui.Direction(tt.lang)+`">`) || w.Header().Get("Content-Language") != tt.lang {
			t.Errorf("Accept-Language %q: want a page in %s, got Content-Language %q", tt.accept, tt.lang, w.Header().Get("Content-Language"))
		}
		csp := w.Header().Get("Content-Security-Policy")
		nonce := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
		for _, want := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "style-src 'nonce-"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %s", csp, want)
			}
		}
		if nonce == nil || strings.Count(w.Body.String(), `nonce="`+nonce[1]+`"`) != 2 {
			t.Errorf("style and script must carry the CSP nonce; CSP %q", csp)
		}
		if strings.Contains(w.Body.String(), " style=") || strings.Contains(w.Body.String(), " onclick=") {
			t.Error("inline style or handler attributes would be blocked by the CSP")
		}
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("Cache-Control %q Referrer-Policy %q", w.Header().Get("Cache-Control"), w.Header().Get("Referrer-Policy"))
		}
	}
}

func TestPhonePageCountry(t *testing.T) {
	selected := regexp.MustCompile(`<option value="(\w\w)"[^>]* selected>([^<]*)<`)
	options := regexp.MustCompile(`<option value="(\w\w)"`)
	for _, tt := range []struct {
		name, cfg, accept  string
		want, wantName     string
		wantOptions        int // 0: more than 200
		wantPlaceholderSub string
	}{
		{"default", pageCfg, "", "US", "United States (+1)", 0, "(201) 555-0123"},
		{"region from Accept-Language", pageCfg, "en-GB,en;q=0.9", "GB", "United Kingdom (+44)", 0, "07400 123456"},
		{"language's likely region", pageCfg, "de", "DE", "Deutschland (+49)", 0, "01512 3456789"},
		{"region not offered", `{"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"secret":"` + longSecret + `","countries":["US","CA"]}`, "de-DE", "US", "Vereinigte Staaten (+1)", 2, "(201) 555-0123"},
		{"offered region", `{"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"secret":"` + longSecret + `","countries":["US","CA"]}`, "en-CA", "CA", "Canada (+1)", 2, "(506) 234-5678"},
		{"first of countries", `{"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"secret":"` + longSecret + `","countries":["GB","DE"]}`, "", "GB", "United Kingdom (+44)", 2, "07400 123456"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newPageHandler(t, tt.cfg, newClock())
			w := newVisitor(t, h, tt.accept).do("GET", "/_otp/", nil)
			m := selected.FindStringSubmatch(w.Body.String())
			if m == nil || m[1] != tt.want || html.UnescapeString(m[2]) != tt.wantName {
				t.Errorf("selected %v, want %s %q", m, tt.want, tt.wantName)
			}
			n := len(options.FindAllString(w.Body.String(), -1))
			if (tt.wantOptions == 0 && n < 200) || (tt.wantOptions > 0 && n != tt.wantOptions) {
				t.Errorf("%d countries offered, want %d (0: all)", n, tt.wantOptions)
			}
			if !strings.Contains(html.UnescapeString(w.Body.String()), `placeholder="`+tt.wantPlaceholderSub+`"`) {
				t.Errorf("no placeholder %q", tt.wantPlaceholderSub)
			}
		})
	}
}

func TestSendFormCountry(t *testing.T) {
	for _, tt := range []struct {
		name, country, phone string
		wantSMS              string // "" for a refusal
	}{
		{"national number, country picked", "DE", "0151 23456789", "+4915123456789"},
		{"typed + wins over the country", "DE", "+1 201 555 0123", "+12015550123"},
		{"no country: the default (none) needs +", "", "201 555 0123", ""},
		{"unknown country", "XX", "201 555 0123", ""},
		{"lowercase country", "us", "201 555 0123", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, sender := newPageHandler(t, pageCfg, newClock())
			v := newVisitor(t, h, "")
			v.do("GET", "/_otp/?return=/app", nil)
			w := v.do("POST", "/_otp/send", url.Values{"country": {tt.country}, "phone": {tt.phone}, "return": {"/app"}})
			if tt.wantSMS != "" {
				if w.Code != http.StatusSeeOther || sender.Last(t).Phone != tt.wantSMS {
					t.Errorf("status %d; want an SMS to %s", w.Code, tt.wantSMS)
				}
				return
			}
			wantIn(t, w, 400, "That number doesn't look right")
			b := w.Body.String()
			if !strings.Contains(b, `value="`+tt.phone+`"`) || !strings.Contains(b, `aria-invalid="true"`) || !strings.Contains(b, `role="alert"`) {
				t.Errorf("the page must keep %q and mark the field:\n%s", tt.phone, b)
			}
			if !strings.Contains(b, `name="return" value="/app"`) {
				t.Error("the page lost the return path")
			}
			if sender.Count() != 0 {
				t.Error("an SMS went out")
			}
		})
	}
}

// A code sent in the middle of a second: the page's wait for a new code
// (and for "Call me instead") must not end before the server takes one.
// The challenge's exp is whole seconds; counted from it, the page would
// offer a resend 0.6 s early here, and the server would refuse it with 429.
func TestCodePageWaitsFromExactSendTime(t *testing.T) {
	c := newClock()
	c.Step(600 * time.Millisecond)
	h, _ := newPageHandler(t, pageCfg, c)
	v := newVisitor(t, h, "")
	v.do("GET", "/_otp/", nil)
	if w := v.do("POST", "/_otp/send", url.Values{"phone": {"+12015550123"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("send: %d", w.Code)
	}
	c.Step(29*time.Second + 500*time.Millisecond) // 0.5 s of resend_after left
	if w := v.do("GET", "/_otp/verify", nil); !strings.Contains(w.Body.String(), `data-wait="1"`) {
		t.Errorf("with 0.5 s of resend_after left the page does not wait 1 s:\n%s", w.Body.String())
	}
	if w := v.do("POST", "/_otp/resend", url.Values{}); w.Code != http.StatusTooManyRequests {
		t.Errorf("resend 0.5 s early: %d, want 429", w.Code)
	}
	c.Step(500 * time.Millisecond)
	if w := v.do("GET", "/_otp/verify", nil); !strings.Contains(w.Body.String(), `data-wait="0"`) {
		t.Errorf("once resend_after has passed the page still waits:\n%s", w.Body.String())
	}
	if w := v.do("POST", "/_otp/resend", url.Values{}); w.Code != http.StatusSeeOther {
		t.Errorf("resend once resend_after has passed: %d, want 303", w.Code)
	}
}

func TestCodePage(t *testing.T) {
	c := newClock()
	h, sender := newPageHandler(t, pageCfg, c)
	v := newVisitor(t, h, "")
	v.do("GET", "/_otp/", nil)
	if w := v.do("POST", "/_otp/send", url.Values{"phone": {"+12015550123"}, "return": {"/deep?x=1"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("send: %d", w.Code)
	}
	code := sender.Last(t).Code

	w := v.do("GET", "/_otp/verify", nil)
	wantIn(t, w, 200, "We sent a 6-digit code to +1******0123.", "The code expires in 5 minutes. You have 3 attempts.")
	b := w.Body.String()
	for _, want := range []string{`autocomplete="one-time-code"`, `inputmode="numeric"`, `pattern="[0-9]{6}"`, `data-wait="30"`,
		`action="/_otp/resend"`, `href="/_otp/?return=%2fdeep%3fx%3d1"`, `navigator.credentials.get({ otp: { transport: ["sms"] }, signal: ac.signal })`} {
		if !strings.Contains(b, want) {
			t.Errorf("code page lacks %s", want)
		}
	}

	c.Step(20 * time.Second)
	w = v.do("POST", "/_otp/verify", url.Values{"code": {wrongCode(code)}})
	wantIn(t, w, 401, "That code isn't right. 2 attempts left.", "You have 2 attempts.")
	w = v.do("POST", "/_otp/verify", url.Values{"code": {"12"}})
	wantIn(t, w, 400, "Enter the 6-digit code from the text message.")
	// A reload still knows the tries left; the wait for a new code ran on.
	w = v.do("GET", "/_otp/verify", nil)
	wantIn(t, w, 200, "The code expires in 5 minutes. You have 2 attempts.")
	c.Step(100 * time.Second) // 3m20s left
	wantIn(t, v.do("GET", "/_otp/verify", nil), 200, "The code expires in 3 minutes.")
	c.Step(160 * time.Second) // 20s left
	wantIn(t, v.do("GET", "/_otp/verify", nil), 200, "The code expires in 20 seconds.")
	if !strings.Contains(w.Body.String(), `data-wait="10"`) {
		t.Error("resend wait did not count down to 10 s")
	}

	c.Step(30 * time.Second)
	w = v.do("GET", "/_otp/verify", nil)
	wantIn(t, w, 200, "This code has expired. Ask for a new one.")
	// A pasted code with a space still counts: here it has expired.
	w = v.do("POST", "/_otp/verify", url.Values{"code": {code[:3] + " " + code[3:]}})
	wantIn(t, w, 410, "That code has expired or was replaced.", "+1******0123", "Send a new code")
	// The expired page's button sends a new code to the same number.
	if w := v.do("POST", "/_otp/resend", url.Values{}); w.Code != http.StatusSeeOther || sender.Count() != 2 {
		t.Errorf("resend after expiry: %d, %d SMS", w.Code, sender.Count())
	}
	// Past the grace period there is nothing left to resend to.
	c.Step(5*time.Minute + challengeGrace + time.Second)
	if w := v.do("GET", "/_otp/verify", nil); w.Code != http.StatusSeeOther {
		t.Errorf("code page long after expiry: %d, want a redirect to the phone page", w.Code)
	}
}

func TestBlockedPage(t *testing.T) {
	c := newClock()
	h, sender := newPageHandler(t, pageCfg, c)
	v := newVisitor(t, h, "de-DE")
	v.do("GET", "/_otp/", nil)
	v.do("POST", "/_otp/send", url.Values{"phone": {"+4915123456789"}})
	bad := wrongCode(sender.Last(t).Code)
	wantIn(t, v.do("POST", "/_otp/verify", url.Values{"code": {bad}}), 401, "Dieser Code ist nicht richtig. Noch 2 Versuche.")
	wantIn(t, v.do("POST", "/_otp/verify", url.Values{"code": {bad}}), 401, "Noch 1 Versuch.")
	w := v.do("POST", "/_otp/verify", url.Values{"code": {bad}})
	wantIn(t, w, 429, "Zu viele falsche Codes", sms.MaskPhone("+4915123456789"), "in 15 Minuten erneut", "Andere Nummer verwenden")
	c.Step(14*time.Minute + 30*time.Second)
	w = v.do("GET", "/_otp/verify", nil)
	wantIn(t, w, 429, "Zu viele falsche Codes", "in 30 Sekunden erneut")
	if w.Header().Get("Retry-After") != "" && w.Header().Get("Retry-After") != "30" {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	wantIn(t, v.do("POST", "/_otp/resend", url.Values{}), 429, "Zu viele falsche Codes")
}

func TestLogoutPage(t *testing.T) {
	h, _ := newPageHandler(t, pageCfg, newClock())
	v := newVisitor(t, h, "")
	w := v.do("GET", "/_otp/logout", nil)
	wantIn(t, w, 200, "You're not signed in.", "Sign in")
	if strings.Contains(w.Body.String(), `action="/_otp/logout"`) {
		t.Error("a sign-out button with nothing to sign out of")
	}
}
