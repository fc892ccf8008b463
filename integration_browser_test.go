package caddyotp_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// webOTPStub stands in for an SMS reaching the phone: a desktop Chromium
// has no SMS to read, so navigator.credentials.get resolves only when the
// test calls __deliverSMS(code). It records what the page asked for, and
// in sessionStorage (which outlives the page) whether the request was
// aborted.
const webOTPStub = `(() => {
  let deliver;
  const sms = new Promise((resolve) => { deliver = resolve; });
  window.OTPCredential = window.OTPCredential || function OTPCredential() {};
  window.__deliverSMS = (code) => deliver({ type: "otp", id: "", code });
  Object.defineProperty(navigator, "credentials", { configurable: true, value: {
    get(opts) {
      window.__otpRequest = JSON.stringify({ otp: opts.otp, signal: opts.signal instanceof AbortSignal });
      opts.signal.addEventListener("abort", () => sessionStorage.setItem("otpAborted", "yes"));
      return sms;
    },
  }});
})();`

const (
	deepLink  = "/app/page?x=1"
	loginPath = prefix + "/?return=%2Fapp%2Fpage%3Fx%3D1"
)

// TestBrowser walks the login as a visitor does, in headless Chromium
// against the real Caddy: deep link, phone page, code from the fake
// Dexatel, back on the deep link; reload, log out, asked again. Then three
// wrong codes at 320 px, WebOTP, no JavaScript at all, and German.
func TestBrowser(t *testing.T) {
	e := newEnv(t, opts{})
	tb := newBrowserTab(t)
	tb.onNewDocument(t, webOTPStub)
	phoneWidth := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)

	t.Run("login, reload, logout", func(t *testing.T) {
		const phone = "+12015550123"
		tb.do(t, phoneWidth, chromedp.Navigate(siteURL()+deepLink))
		tb.waitPath(t, loginPath)
		tb.wantFocus(t, "phone")
		if c := eval[string](t, tb, `document.getElementById("country").value`); c != "US" {
			t.Errorf("country %q selected for an en-US browser, want US", c)
		}
		// The nonce'd style applied under the CSP.
		if d := eval[string](t, tb, `getComputedStyle(document.body).display`); d != "flex" {
			t.Errorf("body is display %q: the page's style did not apply", d)
		}
		if p := eval[string](t, tb, `document.getElementById("phone").placeholder`); p != "(201) 555-0123" {
			t.Errorf("placeholder %q, want a US example", p)
		}
		tb.screenshot(t, "phone.png")
		tb.colorScheme(t, "dark")
		tb.screenshot(t, "phone-dark.png")
		tb.colorScheme(t, "light")

		// A number that cannot be right: the page says so, keeps it, and
		// puts the cursor back in the field.
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), "12"+kb.Enter))
		if msg := tb.text(t, "#err"); !strings.Contains(msg, "That number doesn't look right") {
			t.Errorf("error %q", msg)
		}
		tb.wantFocus(t, "phone")
		if v := eval[string](t, tb, `document.getElementById("phone").value`); v != "12" {
			t.Errorf("phone field holds %q after the error, want what was typed", v)
		}
		if a := eval[string](t, tb, `document.getElementById("phone").getAttribute("aria-invalid") + " " + document.getElementById("err").getAttribute("role")`); a != "true alert" {
			t.Errorf("aria-invalid and role: %q", a)
		}

		// A national number, with the country picked for us: US.
		tb.setValue(t, "phone", "")
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), "(201) 555-0123"+kb.Enter))
		tb.waitPath(t, prefix+"/verify")
		tb.wantFocus(t, "code")
		if p := tb.text(t, "main p"); !strings.Contains(p, "+1******0123") {
			t.Errorf("code page says %q, want the masked number", p)
		}
		if h := tb.text(t, "#hint"); !strings.Contains(h, "expires in 5 minutes") || !strings.Contains(h, "3 attempts") {
			t.Errorf("hint %q", h)
		}
		// The script ran (CSP nonce): the resend button counts down.
		if !eval[bool](t, tb, `document.getElementById("resend").disabled`) {
			t.Error("resend button is enabled right after sending")
		}
		if l := tb.text(t, "#resend"); !regexp.MustCompile(`^New code in 0:[0-3]\d$`).MatchString(l) {
			t.Errorf("resend button says %q", l)
		}
		if r := eval[string](t, tb, `window.__otpRequest || ""`); r != `{"otp":{"transport":["sms"]},"signal":true}` {
			t.Errorf("WebOTP request %q", r)
		}
		tb.screenshot(t, "verify.png")
		tb.colorScheme(t, "dark")
		tb.screenshot(t, "verify-dark.png")
		tb.colorScheme(t, "light")

		code := e.dex.ReadCode(t, phone)
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#code"), code+kb.Enter))
		tb.waitPath(t, deepLink)
		tb.wantSignedIn(t, phone)
		if eval[string](t, tb, `sessionStorage.getItem("otpAborted") || ""`) != "yes" {
			t.Error("submitting the code did not abort the WebOTP request")
		}

		tb.submit(t, chromedp.Reload())
		tb.waitPath(t, deepLink)
		tb.wantSignedIn(t, phone)

		tb.do(t, chromedp.Navigate(siteURL()+prefix+"/logout"))
		if p := tb.text(t, "main p"); !strings.Contains(p, "+1******0123") {
			t.Errorf("logout page says %q", p)
		}
		tb.submit(t, chromedp.Click(chromedp.CSS("button[type=submit]")))
		tb.waitPath(t, prefix+"/")
		tb.do(t, chromedp.Navigate(siteURL()+deepLink))
		tb.waitPath(t, loginPath)
	})

	t.Run("three wrong codes block, at 320 px", func(t *testing.T) {
		const phone = "+12015550199"
		tb.clearCookies(t)
		tb.do(t, chromedp.EmulateViewport(320, 640, chromedp.EmulateMobile), chromedp.Navigate(siteURL()+deepLink))
		tb.waitPath(t, loginPath)
		tb.wantNoScroll(t)
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), "12"+kb.Enter))
		tb.wantNoScroll(t)
		tb.screenshot(t, "phone-error-320.png")

		// Germany picked, but a number typed with + wins.
		tb.do(t, chromedp.SetValue(chromedp.CSS("#country"), "DE")) // fires change
		if p := eval[string](t, tb, `document.getElementById("phone").placeholder`); p != "01512 3456789" {
			t.Errorf("placeholder %q after picking Germany, want a German example", p)
		}
		tb.setValue(t, "phone", "")
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), "+1 201 555 0199"+kb.Enter))
		tb.waitPath(t, prefix+"/verify")
		if p := tb.text(t, "main p"); !strings.Contains(p, "+1******0199") {
			t.Errorf("code page says %q, want +1******0199", p)
		}
		tb.wantNoScroll(t)

		bad := wrong(e.dex.ReadCode(t, phone))
		for _, want := range []string{"That code isn't right. 2 attempts left.", "That code isn't right. 1 attempt left."} {
			tb.submit(t, chromedp.SendKeys(chromedp.CSS("#code"), bad+kb.Enter))
			if msg := tb.text(t, "#err"); msg != want {
				t.Errorf("after a wrong code: %q, want %q", msg, want)
			}
			tb.wantFocus(t, "code")
			tb.wantNoScroll(t)
		}
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#code"), bad+kb.Enter))
		if h := tb.text(t, "h1"); h != "Too many wrong codes" {
			t.Errorf("heading %q after the third wrong code", h)
		}
		tb.screenshot(t, "blocked-320.png")
		if msg := tb.text(t, "[role=alert]"); !strings.Contains(msg, "+1******0199") || !strings.Contains(msg, "Try again in 15 minutes") {
			t.Errorf("block message %q", msg)
		}
		tb.wantNoScroll(t)
		// Reloading the code page still says it is blocked.
		tb.do(t, chromedp.Navigate(siteURL()+prefix+"/verify"))
		if h := tb.text(t, "h1"); h != "Too many wrong codes" {
			t.Errorf("code page of a blocked phone: heading %q", h)
		}
	})

	t.Run("WebOTP fills in and submits the code", func(t *testing.T) {
		const phone = "+12015550177"
		tb.clearCookies(t)
		tb.do(t, phoneWidth, chromedp.Navigate(siteURL()+deepLink))
		tb.waitPath(t, loginPath)
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), "2015550177"+kb.Enter))
		tb.waitPath(t, prefix+"/verify")
		tb.submit(t, chromedp.Evaluate[chromedp.Void](`__deliverSMS(`+jsString(e.dex.ReadCode(t, phone))+`)`))
		tb.waitPath(t, deepLink)
		tb.wantSignedIn(t, phone)
	})

	t.Run("everything works without JavaScript", func(t *testing.T) {
		const phone = "+12015550178"
		tb.clearCookies(t)
		tb.scripts(t, false)
		defer tb.scripts(t, true)
		tb.do(t, chromedp.Navigate(siteURL()+deepLink))
		tb.waitPath(t, loginPath)
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), "201 555 0178"+kb.Enter))
		tb.waitPath(t, prefix+"/verify")
		// No countdown without a script: the button works, and the
		// server says how long to wait.
		tb.submit(t, chromedp.Click(chromedp.CSS("#resend")))
		if msg := tb.text(t, "#err"); !regexp.MustCompile(`^Too many tries — try again in \d+ seconds\.$`).MatchString(msg) {
			t.Errorf("early resend: %q", msg)
		}
		if e.dex.Sent(phone) != 1 {
			t.Errorf("%d SMS sent, want 1", e.dex.Sent(phone))
		}
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#code"), e.dex.ReadCode(t, phone)+kb.Enter))
		tb.waitPath(t, deepLink)
		tb.wantSignedIn(t, phone)
	})

	t.Run("German", func(t *testing.T) {
		tb.clearCookies(t)
		tb.acceptLanguage(t, "de-DE,de;q=0.9,en;q=0.5")
		defer tb.acceptLanguage(t, "en-US")
		tb.do(t, chromedp.Navigate(siteURL()+deepLink))
		tb.waitPath(t, loginPath)
		if h := tb.text(t, "h1"); h != "Telefonnummer bestätigen" {
			t.Errorf("heading %q", h)
		}
		got := eval[string](t, tb, `document.documentElement.lang + " " + document.getElementById("country").value + " " + document.querySelector("#country option:checked").textContent`)
		if got != "de DE Deutschland (+49)" {
			t.Errorf("lang, country and its name: %q", got)
		}
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), "12"+kb.Enter))
		if msg := tb.text(t, "#err"); !strings.HasPrefix(msg, "Diese Nummer scheint nicht zu stimmen") {
			t.Errorf("German error %q", msg)
		}
	})
}

// submit runs actions that load a new page, and waits until it has loaded.
func (tb *tab) submit(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tb.do(t, chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.old = "1"`))
	tb.do(t, actions...)
	tb.until(t, `!document.documentElement.dataset.old && document.readyState === "complete"`)
}

// setValue sets a form field's value, as picking from a list does.
func (tb *tab) setValue(t *testing.T, id, v string) {
	t.Helper()
	js := `(() => { const f = document.getElementById(` + jsString(id) + `); f.value = ` + jsString(v) + `; return f.value; })()`
	if got := eval[string](t, tb, js); got != v {
		t.Fatalf("could not set #%s to %q (it holds %q)", id, v, got)
	}
}

func (tb *tab) wantFocus(t *testing.T, id string) {
	t.Helper()
	if got := eval[string](t, tb, `document.activeElement && document.activeElement.id`); got != id {
		t.Errorf("focus on %q, want #%s", got, id)
	}
}

// wantSignedIn checks the page is the app's, told who verified.
func (tb *tab) wantSignedIn(t *testing.T, phone string) {
	t.Helper()
	body := eval[string](t, tb, `document.body.innerText`)
	if !strings.Contains(body, `"X-Verified-Phone":["`+phone+`"]`) {
		t.Errorf("not the app signed in as %s:\n%.500s", phone, body)
	}
}

func (tb *tab) wantNoScroll(t *testing.T) {
	t.Helper()
	w := eval[int](t, tb, `document.documentElement.scrollWidth`)
	vw := eval[int](t, tb, `window.innerWidth`)
	if w > vw {
		t.Errorf("%s scrolls sideways: %d px wide in a %d px window", tb.location(t), w, vw)
	}
}
