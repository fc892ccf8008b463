package caddyotp_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// logoPNG writes a small logo (a rounded blue square) for the pages.
func logoPNG(t *testing.T) string {
	t.Helper()
	const n = 64
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			dx, dy := min(x, n-1-x), min(y, n-1-y)
			if dx < 12 && dy < 12 && (12-dx)*(12-dx)+(12-dy)*(12-dy) > 144 {
				continue // the rounded corners stay transparent
			}
			img.Set(x, y, color.NRGBA{R: 0x23, G: 0x59, B: 0xd1, A: 0xff})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "logo.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrowserCallsAndLanguages walks "Call me instead" in headless
// Chromium: the button waits out resend_after with the resend countdown,
// then Dexatel calls (VOICE) and the code it reads signs in. Then the
// pages in French, and in Arabic, right to left; each names the site and
// shows the logo.
func TestBrowserCallsAndLanguages(t *testing.T) {
	e := newEnv(t, opts{
		dex: "voice_template " + fakegw.DexatelVoiceTemplate,
		otp: "resend_after 3s\n\t\tlogo " + logoPNG(t),
	})
	tb := newBrowserTab(t)
	phoneWidth := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)

	t.Run("call me instead", func(t *testing.T) {
		const phone = "+12015550150"
		tb.do(t, phoneWidth, chromedp.Navigate(siteURL()+deepLink))
		tb.waitPath(t, loginPath)
		if s := tb.text(t, ".site"); s != "Sign in to localhost" {
			t.Errorf("site line %q", s)
		}
		tb.until(t, `document.querySelector(".site img").naturalWidth === 64`)
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), "201 555 0150"+kb.Enter))
		tb.waitPath(t, prefix+"/verify")
		if !eval[bool](t, tb, `document.getElementById("call").disabled`) {
			t.Error("Call me instead is enabled before resend_after has passed")
		}
		tb.until(t, `!document.getElementById("call").disabled`)
		tb.screenshot(t, "verify-call.png")
		tb.submit(t, chromedp.Click(chromedp.CSS("#call")))
		tb.waitPath(t, prefix+"/verify?called=1")
		if n := tb.text(t, "[role=status]"); n != "We're calling +1******0150 now. Answer to hear your code." {
			t.Errorf("notice %q", n)
		}
		if got := strings.Join(e.dex.Channels(phone), " "); got != "SMS VOICE" {
			t.Errorf("Dexatel channels %q, want SMS VOICE", got)
		}
		tb.screenshot(t, "called.png")
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#code"), e.dex.ReadCode(t, phone)+kb.Enter))
		tb.waitPath(t, deepLink)
		tb.wantSignedIn(t, phone)
	})

	t.Run("French", func(t *testing.T) {
		tb.clearCookies(t)
		tb.acceptLanguage(t, "fr-FR,fr;q=0.9")
		defer tb.acceptLanguage(t, "en-US")
		tb.do(t, phoneWidth, chromedp.Navigate(siteURL()+deepLink))
		tb.waitPath(t, loginPath)
		if h := tb.text(t, "h1"); h != "Vérifiez votre numéro" {
			t.Errorf("heading %q", h)
		}
		got := eval[string](t, tb, `document.documentElement.lang + " " + document.documentElement.dir + " " + document.getElementById("country").value + " " + document.querySelector("#country option:checked").textContent`)
		if got != "fr ltr FR France (+33)" {
			t.Errorf("lang, dir, country and its name: %q", got)
		}
		if s := tb.text(t, ".site"); s != "Connexion à localhost" {
			t.Errorf("site line %q", s)
		}
		tb.screenshot(t, "phone-fr.png")
		tb.submit(t, chromedp.SendKeys(chromedp.CSS("#phone"), "12"+kb.Enter))
		if msg := tb.text(t, "#err"); !strings.HasPrefix(msg, "Ce numéro ne semble pas correct") {
			t.Errorf("French error %q", msg)
		}
	})

	t.Run("Arabic, right to left", func(t *testing.T) {
		tb.clearCookies(t)
		tb.acceptLanguage(t, "ar-EG,ar;q=0.9")
		defer tb.acceptLanguage(t, "en-US")
		tb.do(t, phoneWidth, chromedp.Navigate(siteURL()+deepLink))
		tb.waitPath(t, loginPath)
		got := eval[string](t, tb, `document.documentElement.lang + " " + document.documentElement.dir + " " + getComputedStyle(document.querySelector("h1")).direction + " " + getComputedStyle(document.getElementById("phone")).direction`)
		if got != "ar rtl rtl ltr" {
			t.Errorf("lang, dir, the heading's and the phone field's direction: %q, want ar rtl rtl ltr", got)
		}
		if h := tb.text(t, "h1"); h != "تأكيد رقم الهاتف" {
			t.Errorf("heading %q", h)
		}
		// The country label's words sit at the right edge of the card, as
		// right-to-left text does.
		if right := eval[bool](t, tb, `(() => { const r = document.createRange(); r.selectNodeContents(document.querySelector("label[for=country]")); const l = r.getBoundingClientRect(), m = document.querySelector("main").getBoundingClientRect(); return m.right - l.right < l.left - m.left; })()`); !right {
			t.Error("the country label is not at the right")
		}
		tb.wantNoScroll(t)
		tb.screenshot(t, "phone-ar.png")
	})
}
