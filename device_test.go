package caddyotp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/session"
)

// newDeviceHandler is a page handler with users_file (alice and carol)
// and remember_device 720h.
func newDeviceHandler(t *testing.T, c *clock) (*Handler, *fakeSMS) {
	t.Helper()
	users := filepath.Join(t.TempDir(), "users.txt")
	if err := os.WriteFile(users, []byte("alice "+phoneA+"\ncarol "+phoneB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := pageCfg[:len(pageCfg)-1] + `,"users_file":"` + users + `","remember_device":2592000000000000}`
	return newPageHandler(t, cfg, c)
}

// rememberedBrowser signs alice in with "trust this browser" ticked and
// returns that browser.
func rememberedBrowser(t *testing.T, h *Handler, sender *fakeSMS, remember bool) *visitor {
	t.Helper()
	v := newVisitor(t, h, "")
	v.user = "alice"
	v.do("GET", "/_otp/", nil)
	v.do("POST", "/_otp/send", url.Values{"phone": {phoneB}}) // ignored: alice's phone is listed
	if sender.Last(t).Phone != phoneA {
		t.Fatalf("code sent to %s, not alice's listed phone", sender.Last(t).Phone)
	}
	form := url.Values{"code": {sender.Last(t).Code}}
	if remember {
		form.Set("remember", "1")
	}
	if w := v.do("POST", "/_otp/verify", form); w.Code != http.StatusSeeOther {
		t.Fatalf("verify: %d", w.Code)
	}
	return v
}

func TestRememberDevice(t *testing.T) {
	c := newClock()
	h, sender := newDeviceHandler(t, c)
	if v := rememberedBrowser(t, h, sender, false); v.cookies[h.deviceCookie()] != "" {
		t.Fatal("a device cookie without \"trust this browser\"")
	}
	c.Step(time.Minute) // resend_after
	v := rememberedBrowser(t, h, sender, true)
	dev := v.cookies[h.deviceCookie()]
	if dev == "" {
		t.Fatal("no device cookie")
	}
	sent := sender.Count()

	// The session cookie gone, the device signs alice in without an SMS.
	later := newVisitor(t, h, "")
	later.user = "alice"
	later.cookies[h.deviceCookie()] = dev
	if w := later.doJSON("GET", "/app", ""); w.Code != http.StatusTeapot || setCookie(w, h.CookieName) == nil {
		t.Fatalf("remembered device: %d, session cookie %v", w.Code, setCookie(w, h.CookieName))
	}
	if sender.Count() != sent {
		t.Error("a remembered device sent an SMS")
	}
	// It stands in for alice's second factor only.
	for _, user := range []string{"carol", ""} {
		other := newVisitor(t, h, "")
		other.user = user
		other.cookies[h.deviceCookie()] = dev
		if w := other.doJSON("GET", "/app", ""); w.Code != http.StatusUnauthorized {
			t.Errorf("alice's device for user %q: %d", user, w.Code)
		}
	}
}

func TestForgetDevice(t *testing.T) {
	h, sender := newDeviceHandler(t, newClock())
	v := rememberedBrowser(t, h, sender, true)
	dev := v.cookies[h.deviceCookie()]
	w := v.doJSON("POST", "/_otp/logout", `{"forget":true}`)
	wantJSON(t, w, 200, map[string]any{"status": "logged_out"})
	if ck := setCookie(w, h.deviceCookie()); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("device cookie not cleared: %+v", ck)
	}
	// Revoked server-side: a copy kept elsewhere no longer signs in.
	copyOf := newVisitor(t, h, "")
	copyOf.user = "alice"
	copyOf.cookies[h.deviceCookie()] = dev
	if w := copyOf.doJSON("GET", "/app", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("forgotten device: %d", w.Code)
	}
}

// TestDeviceStoreDown: a device that cannot be checked fails closed (503),
// and one that cannot be forgotten is not reported as logged out.
func TestDeviceStoreDown(t *testing.T) {
	h, sender := newDeviceHandler(t, newClock())
	v := rememberedBrowser(t, h, sender, true)
	delete(v.cookies, h.CookieName)
	h.devices = session.NewDevices(h.keys.Device, h.Issuer, time.Duration(h.RememberDevice), brokenStore{}, "t", h.now)
	wantJSON(t, v.doJSON("GET", "/app", ""), 503, map[string]any{"error": "unavailable"})
	wantJSON(t, v.doJSON("POST", "/_otp/logout", `{"forget":true}`), 503, map[string]any{"error": "unavailable"})
}

func TestBoundIP(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.RemoteAddr = "192.0.2.7:4711"
	if got := (&Handler{}).boundIP(r); got != "" {
		t.Errorf("boundIP without bind_ip = %q", got)
	}
	if got := (&Handler{BindIP: true}).boundIP(r); got != "192.0.2.7" {
		t.Errorf("boundIP with bind_ip = %q, want 192.0.2.7", got)
	}
}
