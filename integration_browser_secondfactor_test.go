package caddyotp_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserSecondFactor: after basic_auth, in headless Chromium, the
// phone page shows alice's masked number and no phone field; the code
// page offers "trust this browser" and no other number; a trusted browser
// skips the SMS after logout, and "forget this browser" ends that.
func TestBrowserSecondFactor(t *testing.T) {
	sf := newSecondFactor(t, "remember_device 720h", "")
	tb := newBrowserTab(t)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pass-word"))
	call(t, tb, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})

	tb.do(t, chromedp.Navigate(siteURL()+deepLink))
	tb.waitPath(t, loginPath)
	if p := tb.text(t, "main p"); !strings.Contains(p, "+1******0161") {
		t.Errorf("phone page says %q, want alice's masked number", p)
	}
	if n := eval[int](t, tb, `document.querySelectorAll("#phone, #country, [name=phone]").length`); n != 0 {
		t.Errorf("phone page has %d phone fields in second-factor mode", n)
	}
	tb.screenshot(t, "second-factor.png")
	tb.submit(t, chromedp.Click(chromedp.CSS("main button[type=submit]")))
	tb.waitPath(t, prefix+"/verify")
	if n := eval[int](t, tb, `[...document.querySelectorAll("a")].filter(a => a.textContent.includes("different number")).length`); n != 0 {
		t.Error("code page offers a different number")
	}
	tb.do(t, chromedp.Click(chromedp.CSS("input[name=remember]")))
	tb.submit(t, chromedp.SendKeys(chromedp.CSS("#code"), sf.dex.ReadCode(t, alicePhone)+kb.Enter))
	tb.waitPath(t, deepLink)
	tb.wantSignedIn(t, alicePhone)

	// Sign out, keeping the device: back in without a code.
	sent := sf.dex.Sent(alicePhone)
	tb.do(t, chromedp.Navigate(siteURL()+prefix+"/logout"))
	if !eval[bool](t, tb, `!!document.querySelector("input[name=forget]")`) {
		t.Fatal("logout page offers no \"forget this browser\"")
	}
	tb.submit(t, chromedp.Click(chromedp.CSS("main button[type=submit]")))
	tb.do(t, chromedp.Navigate(siteURL()+deepLink))
	tb.wantSignedIn(t, alicePhone)
	if sf.dex.Sent(alicePhone) != sent {
		t.Error("a trusted browser was sent a code")
	}

	// Sign out and forget it: asked for a code again.
	tb.do(t, chromedp.Navigate(siteURL()+prefix+"/logout"))
	tb.do(t, chromedp.Click(chromedp.CSS("input[name=forget]")))
	tb.submit(t, chromedp.Click(chromedp.CSS("main button[type=submit]")))
	tb.do(t, chromedp.Navigate(siteURL()+deepLink))
	tb.waitPath(t, loginPath)
}
