package caddyotp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp"
	"github.com/caddyotp/caddyotp/internal/fake"
	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/internal/pumpsim"
	"github.com/caddyotp/caddyotp/internal/redistest"
)

// sentBody is the answer to every send that is not refused.
const sentBody = `{"channel":"sms","expires_in":300,"resend_after":30,"status":"sent"}`

// dexCodes reads what reached the fake Dexatel.
type dexCodes struct {
	t   *testing.T
	dex *fakegw.Dexatel
}

func (d dexCodes) Code(phone string) (string, bool) {
	if d.dex.Sent(phone) == 0 {
		return "", false
	}
	return d.dex.ReadCode(d.t, phone), true
}

// TestIntegrationPumping runs the SMS-pumping attack of issue 16
// (internal/pumpsim) through a real Caddy with the guard's defaults:
// Caddy trusts the local proxy, every request names its own client in
// X-Forwarded-For (500 attackers, 500 visitors), and limit_global is above
// the test's volume. The attack spans three hours on the breakers' fake
// clock, so that the pauses must outlast the hour that limit_prefix counts.
func TestIntegrationPumping(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testPumpingAttack(t, "") })
	// The windows and pauses in Redis, as several instances keep them.
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		testPumpingAttack(t, "store redis "+srv.Addr+" {\n\t\t\tkey_prefix pumping:\n\t\t}")
	})
}

func testPumpingAttack(t *testing.T, store string) {
	clk := fake.NewClock()
	e := newEnv(t, opts{global: trustLocal, otp: "limit_global 100000\n\t\t" + store})
	setPumpingClock(t, e, clk)

	plan := pumpsim.Plan()
	step := 3 * time.Hour / time.Duration(len(plan))
	f, err := pumpsim.Run(context.Background(), pumpsim.Config{
		URL: siteURL(), SentOK: sentBody, Cookie: "otp_session_challenge",
		Step: func() { clk.Step(step) },
	}, dexCodes{t, e.dex}, plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", f.Report())

	if f.AttackSends != 2000 || f.RealSends != 500 {
		t.Fatalf("%d attack and %d real sends, want 2000 and 500", f.AttackSends, f.RealSends)
	}
	if f.AttackReached*100 > 5*f.AttackSends {
		t.Errorf("%d of %d pumping sends reached the provider, want at most 5%%", f.AttackReached, f.AttackSends)
	}
	if f.RealReached*100 < 99*f.RealSends {
		t.Errorf("%d of %d real visitors' sends reached the provider, want at least 99%% (by country: %v)", f.RealReached, f.RealSends, f.ByCountry)
	}
	if f.RealVerified != f.RealToVerify {
		t.Errorf("%d of the %d real visitors who typed their code were verified", f.RealVerified, f.RealToVerify)
	}
	// No documented limit refuses any of these sends, so every answer is
	// the same 200 sent, with the same cookie.
	if f.Other != 0 {
		t.Errorf("%d send answers differ from 200 sent: %v", f.Other, f.OtherAnswers)
	}

	// The admin API lists the pumped prefixes' pauses, and no country's.
	var got struct {
		Pauses []struct {
			Scope, Key string
			RetryAfter int64 `json:"retry_after"`
			Sends      int64
			Verified   int64
		}
	}
	r := admin(t, http.MethodGet, "/phone_otp/pauses?issuer="+e.issuer, "")
	r.wantStatus(t, 200)
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	paused := map[string]bool{}
	for _, p := range got.Pauses {
		paused[p.Scope+" "+p.Key] = true
		if p.Scope == "country" {
			t.Errorf("country %s paused (%d sends, %d verified)", p.Key, p.Sends, p.Verified)
		}
		if p.RetryAfter <= 8*3600 || p.RetryAfter > 12*3600 || p.Verified != 0 {
			t.Errorf("pause %+v: want 8h to 12h left and nothing verified", p)
		}
	}
	for _, p := range pumpsim.AttackPrefixes {
		if !paused["prefix "+p] {
			t.Errorf("prefix %s is not paused; pauses: %v", p, paused)
		}
	}
}

// TestIntegrationPumpingAdmin: a tripped breaker is an audit-visible,
// listed pause; the admin API lifts it, and the prefix gets texts again;
// an allowlisted number in it and a premium-rate allowlisted number get
// theirs throughout.
func TestIntegrationPumpingAdmin(t *testing.T) {
	clk := fake.NewClock()
	const listed, premium = "+447400129999", "+449012345678"
	caddyLog := filepath.Join(t.TempDir(), "caddy.log")
	global := trustLocal + fmt.Sprintf(`
	metrics
	log {
		output file %s
	}
	events {
		on phone_otp.paused otp_test_recorder
		on phone_otp.withheld otp_test_recorder
	}`, caddyLog)
	e := newEnv(t, opts{global: global, otp: "limit_prefix off\n\t\tbreaker_sends 5\n\t\tlimit_global 100000"})
	setPumpingClock(t, e, clk)
	before := scrape(t)
	send := func(phone string, i int) {
		t.Helper()
		newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)).
			wantJSON(t, 200, map[string]any{"status": "sent"})
	}
	// Five unverified codes from five networks, pending: nothing trips.
	for i := range 5 {
		send(fmt.Sprintf("+44740012%04d", i), i+1)
	}
	// Expired, they are evidence: the sixth send trips the breaker.
	clk.Step(11 * time.Minute)
	for i := 5; i < 7; i++ {
		send(fmt.Sprintf("+44740012%04d", i), i+1)
	}
	if e.dex.Sent("+447400120005") != 0 || e.dex.Sent("+447400120006") != 0 || e.dex.Sent("+447400120004") != 1 {
		t.Fatal("five expired unverified codes did not pause the prefix")
	}
	r := admin(t, http.MethodGet, "/phone_otp/pauses?issuer="+e.issuer, "")
	var got struct{ Pauses []map[string]any }
	if r.wantStatus(t, 200); json.Unmarshal([]byte(r.body), &got) != nil || len(got.Pauses) != 1 ||
		got.Pauses[0]["key"] != "+44740012" || got.Pauses[0]["sends"] != 6.0 || got.Pauses[0]["networks"] != 6.0 ||
		got.Pauses[0]["expired"] != 5.0 || got.Pauses[0]["verified"] != 0.0 {
		t.Fatalf("pauses: %s", r.body)
	}
	after := scrape(t)
	for series, want := range map[string]float64{
		`caddy_phone_otp_pauses_total{country="GB",scope="prefix"}`:           1,
		`caddy_phone_otp_withheld_total{country="GB",reason="prefix_paused"}`: 2,
	} {
		if d := after[series] - before[series]; d != want {
			t.Errorf("%s went up by %v, want %v", series, d, want)
		}
	}

	// Lifted: the next send there is texted.
	admin(t, http.MethodPost, "/phone_otp/lift", `{"scope":"prefix","key":"+44740012","issuer":"`+e.issuer+`"}`).
		wantJSON(t, 200, map[string]any{"was_paused": true})
	send("+447400120100", 10)
	if e.dex.Sent("+447400120100") != 1 {
		t.Error("no text after the lift")
	}
	admin(t, http.MethodPost, "/phone_otp/lift", `{"scope":"prefix","key":"44740012"}`).wantStatus(t, 400)
	admin(t, http.MethodPost, "/phone_otp/lift", `{"scope":"prefix","key":"+44740012","phone":"+447400120100"}`).wantStatus(t, 400)

	// Allowlisted numbers bypass every guard, the premium rate one too.
	e.load(t, opts{global: global, otp: "limit_prefix off\n\t\tbreaker_sends 5\n\t\tlimit_global 100000\n\t\tallow " + listed + " " + premium})
	setPumpingClock(t, e, clk)
	for i := range 6 {
		// Listed numbers are the only ones texted now; trip nothing.
		send(fmt.Sprintf("+44740012%04d", 200+i), 20+i)
	}
	send(listed, 30)
	send(premium, 31)
	if e.dex.Sent(listed) != 1 || e.dex.Sent(premium) != 1 {
		t.Errorf("allowlisted numbers texted %d and %d times, want once each", e.dex.Sent(listed), e.dex.Sent(premium))
	}

	// Visible: audit lines, events. A prefix is logged with its last two
	// digits hidden, so that with a masked phone's last four it spells no
	// number.
	raw, err := os.ReadFile(caddyLog)
	if err != nil {
		t.Fatal(err)
	}
	audit := map[string]int{}
	for _, line := range strings.Split(string(raw), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["logger"] != "http.handlers.phone_otp.audit" || l["issuer"] != e.issuer {
			continue
		}
		if strings.Contains(line, "44740012\"") || strings.Contains(line, "447400120") {
			t.Errorf("a line holds a whole prefix or number: %s", line)
		}
		audit[fmt.Sprintf("%v %v %v %v %v", l["msg"], l["outcome"], l["reason"], l["key"], l["country"])]++
	}
	for key, n := range map[string]int{
		"pause <nil> <nil> +447400** GB":       1,
		"send withheld prefix_paused <nil> GB": 2,
		"lift lifted <nil> +447400** <nil>":    1,
		// Five before the pause, one after the lift, the two listed numbers.
		"send sent <nil> <nil> <nil>": 8,
		// Once the allowlist is on, it withholds the rest.
		"send withheld policy <nil> GB": 6,
	} {
		if audit[key] != n {
			t.Errorf("%d audit lines %q, want %d; all: %v", audit[key], key, n, audit)
		}
	}
	evs := map[string]int{}
	for _, ev := range eventsFor(e.issuer) {
		evs[fmt.Sprintf("%s %v %v %v", ev.name, ev.data["reason"], ev.data["key"], ev.data["country"])]++
	}
	for key, n := range map[string]int{
		"phone_otp.paused <nil> +447400** GB":       1,
		"phone_otp.withheld prefix_paused <nil> GB": 2,
		"phone_otp.withheld policy <nil> GB":        0, // the allowlist's own withholding is no guard's
	} {
		if evs[key] != n {
			t.Errorf("%d events %q, want %d; all: %v", evs[key], key, n, evs)
		}
	}
}

// TestIntegrationPumpingTiming: a send the guard holds back (a
// premium-rate number; a prefix past limit_prefix) answers as a real one
// does, in about the time a real send takes, so that timing tells no
// more than the answer which numbers or ranges are held back.
func TestIntegrationPumpingTiming(t *testing.T) {
	const delay = 300 * time.Millisecond
	const n = 8
	e := newEnv(t, opts{global: trustLocal})
	gw := e.dex.Slow(t, delay)
	e.load(t, opts{global: trustLocal, sms: dexatelBlock(gw, ""), otp: "limit_ip 1000\n\t\tlimit_prefix 2\n\t\tbreaker_sends off"})
	// Each send from a client network of its own: a network takes one
	// slot of a prefix.
	ip := 0
	send := func(phone string) (*response, time.Duration) {
		ip++
		start := time.Now()
		r := newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`, "X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", ip/250, ip%250+1))
		return r, time.Since(start)
	}
	// Two networks' texts use up the held-back prefix's limit.
	for i := range 2 {
		r, _ := send(fmt.Sprintf("+44740030%04d", i))
		r.wantJSON(t, 200, map[string]any{"status": "sent"})
	}
	var real, premium, limited []time.Duration
	for i := range n {
		rr, dr := send(fmt.Sprintf("+4474004%d0000", i))
		rp, dp := send(fmt.Sprintf("+44901234%04d", i))
		rl, dl := send(fmt.Sprintf("+44740030%04d", 10+i))
		for _, r := range []*response{rr, rp, rl} {
			r.wantJSON(t, 200, map[string]any{"status": "sent"})
			if r.body != rr.body {
				t.Errorf("bodies differ: %q, %q", rr.body, r.body)
			}
		}
		real, premium, limited = append(real, dr), append(premium, dp), append(limited, dl)
	}
	mr, mp, ml := median(real), median(premium), median(limited)
	t.Logf("median send: texted %v, premium rate %v, past limit_prefix %v (gateway %v ± %v)", mr, mp, ml, delay, delay/6)
	for name, m := range map[string]time.Duration{"premium rate": mp, "past limit_prefix": ml} {
		if diff := (mr - m).Abs(); diff > delay/3 {
			t.Errorf("%s: median %v, texted %v", name, m, mr)
		}
	}
	if e.dex.Sent("+449012340000") != 0 || e.dex.Sent("+447400300010") != 0 || e.dex.Sent("+447400400000") != 1 {
		t.Error("a held-back number got an SMS, or a texted one none")
	}
}

// setPumpingClock makes clk the breakers' clock of e's handlers; after a
// reload, call it again.
func setPumpingClock(t *testing.T, e *env, clk *fake.Clock) {
	t.Helper()
	if err := caddyotp.SetPumpingClock(e.issuer, clk.Now); err != nil {
		t.Fatal(err)
	}
}
