package caddyotp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// The withheld-number side channels (issue 13, point 7 follow-up): a
// number that allow or countries rules out must answer like an allowed
// one whatever another site's sends did, on verify as well as on send
// when the provider checks codes itself, and it must cost limit_global
// what a real send costs.

// TestIntegrationWithheldOtherSiteRefusal: site A is open, site B allows
// one number; both use the default issuer and the same kind of gateway.
// The gateway's refusal of one number on A says nothing of the gateway as
// a whole, so B's withheld numbers keep answering as B's allowed one does.
func TestIntegrationWithheldOtherSiteRefusal(t *testing.T) {
	const refused, allowedB, allowedB2, withheldB = "+12015550901", "+12015550902", "+12015550905", "+12015550903"
	gw := fakegw.NewSlow(t)
	gw.Unreachable(refused)
	s := newSites(t)
	s.loadSites(t, fmt.Sprintf(`
%s {
	phone_otp {
		%s
	}
	%s
}
%s {
	phone_otp {
		%s
		allow %s %s
	}
	%s
}`, s.site("a"), slowBlock(gw, ""), s.proxy(), s.site("b"), slowBlock(gw, ""), allowedB, allowedB2, s.proxy()))

	send := func(site, phone string) *response {
		return s.at(newBrowser(), site).postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`)
	}
	send("b", allowedB).wantJSON(t, 200, map[string]any{"status": "sent"})
	send("a", "+12015550904").wantJSON(t, 200, map[string]any{"status": "sent"})
	send("a", refused).wantJSON(t, 502, map[string]any{"error": "sms_failed"})

	rw := send("b", withheldB)
	ra := send("b", allowedB2)
	if rw.StatusCode != 200 || rw.StatusCode != ra.StatusCode || rw.body != ra.body {
		t.Errorf("after A's refusal of one number: B's withheld %d %s, B's allowed %d %s; want both 200 alike",
			rw.StatusCode, rw.body, ra.StatusCode, ra.body)
	}
	if gw.Took(withheldB) {
		t.Error("the withheld number got an SMS")
	}
}

// TestIntegrationWithheldRemoteCheck: with `check remote`, a wrong code
// for an allowed number waits for Dexatel; one for a withheld number must
// take as long, and a Dexatel outage must fail both verifies alike.
func TestIntegrationWithheldRemoteCheck(t *testing.T) {
	const delay = 300 * time.Millisecond
	const n = 10
	var allowed, withheld []string
	for i := range n {
		allowed = append(allowed, fmt.Sprintf("+1201555%04d", 910+i))
		withheld = append(withheld, fmt.Sprintf("+1201555%04d", 930+i))
	}
	e := newEnv(t, opts{})
	gw := e.dex.Slow(t, delay)
	e.load(t, opts{sms: dexatelBlock(gw, "check remote"),
		otp: "limit_ip 1000\n\t\tallow " + strings.Join(allowed, " ")})

	// Each browser holds a challenge, and a wrong code is timed.
	ma, mw, ba, bw := timeWrongCodes(t, allowed, withheld, func(p string) string { return e.dex.ReadCode(t, p) })
	t.Logf("median wrong-code verify: allowed %v, withheld %v (Dexatel %v ± %v)", ma, mw, delay, delay/6)
	if diff := (ma - mw).Abs(); diff > 100*time.Millisecond {
		t.Errorf("medians differ by %v: allowed %v, withheld %v", diff, ma, mw)
	}

	t.Run("provider outage", func(t *testing.T) {
		e.dex.Set("fail")
		ra, _ := wrongCode(t, ba)
		ra.wantJSON(t, 502, map[string]any{"error": "sms_failed"})
		rw, _ := wrongCode(t, bw)
		if rw.StatusCode != ra.StatusCode || rw.body != ra.body {
			t.Errorf("outage: allowed %d %s, withheld %d %s", ra.StatusCode, ra.body, rw.StatusCode, rw.body)
		}
		e.dex.Set("")
		ra, _ = wrongCode(t, ba) // a real check that Dexatel answers ends the outage for everyone
		ra.wantJSON(t, 401, map[string]any{"error": "invalid_code"})
		rw, _ = wrongCode(t, bw)
		if rw.StatusCode != ra.StatusCode || rw.body != ra.body {
			t.Errorf("after the outage: allowed %d %s, withheld %d %s", ra.StatusCode, ra.body, rw.StatusCode, rw.body)
		}
	})
}

// TestIntegrationWithheldFailoverCharge: a send that failover tried on
// two members costs two of limit_global; a withheld send imitating it
// must cost as much, or the global window would tell the two apart.
func TestIntegrationWithheldFailoverCharge(t *testing.T) {
	first, second := fakegw.NewSlow(t), fakegw.NewSlow(t)
	sms := "sms failover {\n" + slowBlock(first, "150ms") + "\n" + slowBlock(second, "300ms") + "\n}"
	const allowed, withheld = "+12015550951", "+12015550952"
	newEnv(t, opts{sms: sms, otp: "limit_global 4\n\t\tallow " + allowed + " +12015550953"})

	// The first member takes the SMS and times out: each send costs two.
	first.Set("hang")
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+allowed+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+withheld+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"+12015550953"}`).
		wantJSON(t, 429, map[string]any{"error": "rate_limited"})
	if n := first.Reached() + second.Reached(); n != 2 {
		t.Errorf("the gateways took %d SMS, want 2 (the withheld number's none)", n)
	}
}

func TestIntegrationAllowlist(t *testing.T) {
	e := newEnv(t, opts{otp: "allow +12015550137"})
	const allowed, other = "+12015550137", "+12015550138"
	ra := newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+allowed+`"}`)
	b := newBrowser()
	ro := b.postJSON(t, prefix+"/send", `{"phone":"`+other+`"}`)
	ra.wantStatus(t, 200)
	if ro.StatusCode != ra.StatusCode || ro.body != ra.body {
		t.Errorf("answers differ: allowed %d %s, other %d %s", ra.StatusCode, ra.body, ro.StatusCode, ro.body)
	}
	ca, co := ra.setCookie("otp_session_challenge"), ro.setCookie("otp_session_challenge")
	if ca == nil || co == nil || ca.Path != co.Path || ca.HttpOnly != co.HttpOnly || ca.SameSite != co.SameSite {
		t.Errorf("challenge cookies differ: %+v vs %+v", ca, co)
	}
	if e.dex.Sent(allowed) != 1 || e.dex.Sent(other) != 0 {
		t.Errorf("SMS sent: allowed %d, other %d; want 1 and 0", e.dex.Sent(allowed), e.dex.Sent(other))
	}
	for i, code := range []string{e.dex.ReadCode(t, allowed), "000000"} {
		b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).
			wantJSON(t, 401, map[string]any{"error": "invalid_code", "attempts_left": 2 - i})
	}
}
