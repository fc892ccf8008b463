package caddyotp_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// The abuse tests (issue 13): a forged Host in the SMS, header values
// shared between requests, the allowlist told apart by timing, the
// identity header outside the matcher, and a block that must not end the
// sessions a phone already has.

// loadSites (re)configures the running Caddy with the env's global options
// and sites of the test's own, as written. %[1]s in sites is the env's
// issuer, %[2]s the upstream app's address, %[3]d the HTTP port.
func (e *env) loadSites(t *testing.T, global, sites string) {
	t.Helper()
	loadCaddyfile(t, e.tc, e.storage, global, fmt.Sprintf(sites, e.issuer, e.app.Listener.Addr(), ports()[1]))
}

const forgedHost = "login-secure-example.test"

// TestIntegrationForgedHost: on a catch-all site, a client's Host header
// must never become the name in the SMS and its "@host #code" line.
func TestIntegrationForgedHost(t *testing.T) {
	e := newEnv(t, opts{})
	gw := fakegw.NewGateways(t)
	forged := "http://" + forgedHost + fmt.Sprintf(":%d", ports()[1])

	t.Run("catch-all without origin refuses the send", func(t *testing.T) {
		e.loadSites(t, "", `http://:%[3]d {
	phone_otp {
		`+twilioBlock(gw.URL())+`
		issuer %[1]s
	}
	reverse_proxy %[2]s
}
`)
		const phone = "+12015550601"
		r := newBrowser().doAt(t, "POST", forged, prefix+"/send", "application/json", `{"phone":"`+phone+`"}`)
		r.wantJSON(t, 400, map[string]any{"error": "unknown_host"})
		if n := gw.Sent(phone); n != 0 {
			t.Errorf("%d SMS sent for a Host nobody configured: %q", n, gw.LastText(phone))
		}
		// A page form refused the same way is a page, not a 5xx.
		b := newBrowser()
		csrf := b.doAt(t, "GET", forged, prefix+"/", "", "", "Accept", "text/html").field(t, csrfRE)
		r = b.doAt(t, "POST", forged, prefix+"/send", "application/x-www-form-urlencoded",
			"csrf="+csrf+"&phone=%2B12015550602", "Accept", "text/html")
		r.wantStatus(t, 400)
		if gw.Sent("+12015550602") != 0 {
			t.Error("the form's send went out")
		}
	})

	t.Run("origin names the site whatever the Host", func(t *testing.T) {
		e.loadSites(t, "", `http://:%[3]d {
	phone_otp {
		`+twilioBlock(gw.URL())+`
		issuer %[1]s
		origin app.example.test
	}
	reverse_proxy %[2]s
}
`)
		const phone = "+12015550603"
		newBrowser().doAt(t, "POST", forged, prefix+"/send", "application/json", `{"phone":"`+phone+`"}`).
			wantJSON(t, 200, map[string]any{"status": "sent"})
		text := gw.LastText(phone)
		m := fakegw.OriginBound.FindStringSubmatch(text)
		if strings.Contains(text, forgedHost) || m == nil || m[1] != "app.example.test" || !strings.Contains(text, "code for app.example.test.") {
			t.Errorf("SMS %q: want it to name app.example.test only", text)
		}
	})

	t.Run("a site's own names", func(t *testing.T) {
		// A site with host names: Caddy routes only those to it, and the
		// SMS names the one asked for, as configured.
		e.loadSites(t, "", `http://localhost:%[3]d, http://127.0.0.1:%[3]d {
	phone_otp {
		`+twilioBlock(gw.URL())+`
		issuer %[1]s
	}
	reverse_proxy %[2]s
}
`)
		const phone = "+12015550604"
		newBrowser().doAt(t, "POST", fmt.Sprintf("http://LocalHost:%d", ports()[1]), prefix+"/send", "application/json", `{"phone":"`+phone+`"}`).
			wantJSON(t, 200, map[string]any{"status": "sent"})
		if text := gw.LastText(phone); !strings.Contains(text, "\n\n@localhost #") {
			t.Errorf("SMS %q: want the configured name localhost", text)
		}
	})
}

// TestIntegrationHeaderEditsStayPerRequest: Caddy's header handlers edit
// values in place, so a value shared between requests would take every
// edit, one more on each request, and on every site.
func TestIntegrationHeaderEditsStayPerRequest(t *testing.T) {
	e := newEnv(t, opts{})
	const phone = "+12015550611"
	e.loadSites(t, "", `http://localhost:%[3]d {
	header {
		Cache-Control "no-store" "no-store, private"
		defer
	}
	route {
		phone_otp {
			`+dexatelBlock(e.dex.URL(), "")+`
			issuer %[1]s
		}
		request_header X-Verified-Phone "^" "tel:"
		reverse_proxy %[2]s
	}
}
http://127.0.0.1:%[3]d {
	phone_otp {
		`+dexatelBlock(e.dex.URL(), "")+`
		issuer %[1]s-b
	}
	reverse_proxy %[2]s
}
`)
	b := newBrowser()
	login(t, e.dex, b.here(), phone)
	other := fmt.Sprintf("http://127.0.0.1:%d", ports()[1])

	check := func(t *testing.T) {
		if got := b.get(t, "/app").echo(t).Headers["X-Verified-Phone"]; !slices.Equal(got, []string{"tel:" + phone}) {
			t.Errorf("upstream X-Verified-Phone %q, want [tel:%s]", got, phone)
		}
		if got := newBrowser().get(t, prefix+"/session").Header.Values("Cache-Control"); !slices.Equal(got, []string{"no-store, private"}) {
			t.Errorf("edited site: Cache-Control %q, want [no-store, private]", got)
		}
		if got := newBrowser().doAt(t, "GET", other, prefix+"/session", "", "").Header.Values("Cache-Control"); !slices.Equal(got, []string{"no-store"}) {
			t.Errorf("other site: Cache-Control %q, want [no-store]", got)
		}
	}
	for range 4 {
		check(t)
	}
	// At once, so that -race sees any value two requests share.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { check(t) })
	}
	wg.Wait()
	check(t)
}

// TestIntegrationIdentityHeaderOutsideMatcher: a request outside the
// directive's matcher never reaches phone_otp's handler, yet must not
// reach the app with a client-sent identity header in any spelling.
func TestIntegrationIdentityHeaderOutsideMatcher(t *testing.T) {
	e := newEnv(t, opts{})
	const phone = "+12015550621"
	site := `http://localhost:%[3]d {
	@p path /app/* /_otp/*
	phone_otp @p {
		` + dexatelBlock(e.dex.URL(), "") + `
		issuer %[1]s
	}
	reverse_proxy %[2]s
}
`
	identity := func(app echoed) []string {
		var seen []string
		for name, vals := range app.Headers {
			if strings.EqualFold(strings.NewReplacer("_", "-", ".", "-").Replace(name), "X-Verified-Phone") {
				seen = append(seen, name+": "+strings.Join(vals, ","))
			}
		}
		slices.Sort(seen)
		return seen
	}
	b := newBrowser()
	for _, tt := range []struct {
		name, global string
		spoofs       []string
	}{
		// By default Caddy drops names with '_' or '.' itself.
		{"hyphenated", "", []string{"X-Verified-Phone", "+19995550123", "x-verified-phone", "+19995550124", "X-VERIFIED-PHONE", "+19995550128"}},
		// With an underscore alias allowed, Caddy drops the hyphenated
		// names, and the alias is phone_otp's to remove.
		{"underscores Caddy was told to keep", `servers {
		expected_underscore_headers X_Verified_Phone x-VERIFIED_phone
	}`, []string{"X_Verified_Phone", "+19995550125", "x-VERIFIED_phone", "+19995550126", "X-Verified.Phone", "+19995550127"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.loadSites(t, tt.global, site)
			if got := identity(newBrowser().get(t, "/public/x", tt.spoofs...).echo(t)); len(got) != 0 {
				t.Errorf("outside the matcher, upstream got the client's identity headers %q", got)
			}
			if b.get(t, prefix+"/session").StatusCode != 200 {
				login(t, e.dex, b.here(), phone)
			}
			if got := identity(b.get(t, "/public/x", tt.spoofs...).echo(t)); len(got) != 0 {
				t.Errorf("outside the matcher, with a session, upstream got %q", got)
			}
			if got := identity(b.get(t, "/app/x", tt.spoofs...).echo(t)); !slices.Equal(got, []string{"X-Verified-Phone: " + phone}) {
				t.Errorf("inside the matcher, upstream identity headers %q, want only the verified one", got)
			}
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestIntegrationWithheldTiming: a withheld number (allow, countries)
// answers in about the time a real send takes, and a provider outage
// answers it as it answers an allowed one.
func TestIntegrationWithheldTiming(t *testing.T) {
	const delay = 300 * time.Millisecond
	const n = 10
	var allowed, withheld []string
	for i := range n {
		allowed = append(allowed, fmt.Sprintf("+1201555%04d", 700+i))
		withheld = append(withheld, fmt.Sprintf("+1201555%04d", 800+i))
	}
	e := newEnv(t, opts{})
	gw := e.dex.Slow(t, delay)
	// Two more allowed numbers for the outage.
	e.load(t, opts{sms: dexatelBlock(gw, ""), otp: "limit_ip 1000\n\t\tallow +12015550790 +12015550791 " + strings.Join(allowed, " ")})

	send := func(phone string) (*response, time.Duration) {
		start := time.Now()
		r := newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`)
		return r, time.Since(start)
	}
	var ta, tw []time.Duration
	for i := range n {
		ra, da := send(allowed[i])
		rw, dw := send(withheld[i])
		ra.wantJSON(t, 200, map[string]any{"status": "sent"})
		rw.wantJSON(t, 200, map[string]any{"status": "sent"})
		if ra.body != rw.body {
			t.Errorf("bodies differ: allowed %q, withheld %q", ra.body, rw.body)
		}
		ta, tw = append(ta, da), append(tw, dw)
	}
	ma, mw := median(ta), median(tw)
	t.Logf("median send: allowed %v, withheld %v (gateway %v ± %v)", ma, mw, delay, delay/6)
	if diff := (ma - mw).Abs(); diff > delay/3 {
		t.Errorf("medians differ by %v: allowed %v, withheld %v", diff, ma, mw)
	}
	if e.dex.Sent(withheld[0]) != 0 {
		t.Error("a withheld number got an SMS")
	}

	t.Run("provider outage", func(t *testing.T) {
		e.dex.Set("fail")
		ra, _ := send("+12015550790")
		ra.wantJSON(t, 502, map[string]any{"error": "sms_failed"})
		rw, _ := send("+12015550890")
		if rw.StatusCode != ra.StatusCode || rw.body != ra.body {
			t.Errorf("outage: allowed %d %s, withheld %d %s", ra.StatusCode, ra.body, rw.StatusCode, rw.body)
		}
		e.dex.Set("")
		ra, _ = send("+12015550791") // a real send that goes through ends the outage for everyone
		ra.wantJSON(t, 200, nil)
		rw, _ = send("+12015550891")
		rw.wantJSON(t, 200, map[string]any{"status": "sent"})
	})
}

// TestIntegrationSessionSurvivesBlock: anyone can block a phone with one
// send and max_attempts wrong codes; that must not sign its owner out.
func TestIntegrationSessionSurvivesBlock(t *testing.T) {
	e := newEnv(t, opts{})
	const phone = "+12015550631"
	owner := newBrowser()
	login(t, e.dex, owner.here(), phone)

	// The attacker waits out resend_after; the admin API's unblock lifts
	// the wait at once, as it would for the owner's support call.
	admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+phone+`","issuer":"`+e.issuer+`"}`).wantStatus(t, 200)
	attacker := newBrowser()
	attacker.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, nil)
	for range 2 {
		attacker.postJSON(t, prefix+"/verify", `{"code":"`+wrong(e.dex.ReadCode(t, phone))+`"}`).wantJSON(t, 401, nil)
	}
	attacker.postJSON(t, prefix+"/verify", `{"code":"`+wrong(e.dex.ReadCode(t, phone))+`"}`).
		wantJSON(t, 429, map[string]any{"error": "blocked"})
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})

	if got := owner.get(t, "/app").echo(t).Headers["X-Verified-Phone"]; !slices.Equal(got, []string{phone}) {
		t.Errorf("the owner's session during the block: upstream X-Verified-Phone %q", got)
	}
	owner.get(t, prefix+"/session").wantJSON(t, 200, map[string]any{"phone": phone})

	// The remedy: the admin unblocks, and the owner can sign in anew.
	admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+phone+`","issuer":"`+e.issuer+`"}`).
		wantJSON(t, 200, map[string]any{"was_blocked": true})
	login(t, e.dex, newBrowser().here(), phone)
}

// TestIntegrationRememberedDeviceSurvivesBlock: a remembered device keeps
// signing its user in without an SMS while their phone is blocked (by
// someone who also has the password, since users_file sends only to the
// listed phone).
func TestIntegrationRememberedDeviceSurvivesBlock(t *testing.T) {
	sf := newSecondFactor(t, "remember_device 720h", "")
	owner := newBrowser()
	owner.postJSON(t, prefix+"/send", `{}`, as("alice")...).wantJSON(t, 200, nil)
	owner.postJSON(t, prefix+"/verify", `{"code":"`+sf.dex.ReadCode(t, alicePhone)+`","remember":true}`, as("alice")...).
		wantJSON(t, 200, map[string]any{"status": "verified"})
	owner.postJSON(t, prefix+"/logout", ``, as("alice")...).wantJSON(t, 200, nil) // the device stays

	admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+alicePhone+`","issuer":"`+sf.issuer+`"}`).wantStatus(t, 200)
	attacker := newBrowser()
	attacker.postJSON(t, prefix+"/send", `{}`, as("alice")...).wantJSON(t, 200, nil)
	for i := range 3 {
		r := attacker.postJSON(t, prefix+"/verify", `{"code":"`+wrong(sf.dex.ReadCode(t, alicePhone))+`"}`, as("alice")...)
		if i == 2 {
			r.wantJSON(t, 429, map[string]any{"error": "blocked"})
		}
	}
	owner.get(t, "/app", as("alice")...).echo(t)
	owner.get(t, prefix+"/session", as("alice")...).wantJSON(t, 200, map[string]any{"user": "alice"})
}
