package flow

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/redistest"
)

// pumpFlow is a test flow with the guard's defaults and room in the other
// limits, so that only the guard decides.
func pumpFlow(c *clock) (*Flow, *fakeSMS) {
	s := &fakeSMS{}
	f := newTestFlow(c, s)
	f.LimitIP, f.LimitPhone, f.LimitGlobal = 100000, 100, 100000
	f.Pumping = &Pumping{
		Withhold:    map[string]bool{"premium_rate": true, "toll_free": true},
		LimitPrefix: 10, MinSends: 20, MinVerified: 20,
		Window: time.Hour, PauseFor: 12 * time.Hour,
	}
	return f, s
}

// sendTo sends to phone and reports whether an SMS went out, and why not.
func sendTo(t *testing.T, f *Flow, s *fakeSMS, phone string) (Sent, bool) {
	t.Helper()
	before := s.Count()
	sent, err := f.Send(context.Background(), phone, ipA, "example.com")
	if err != nil {
		t.Fatalf("send to %s: %v", phone, err)
	}
	texted := s.Count() > before
	if texted == sent.Withheld {
		t.Fatalf("send to %s: texted %v, yet withheld %v (%s)", phone, texted, sent.Withheld, sent.Reason)
	}
	return sent, texted
}

func TestPumpingNumberTypes(t *testing.T) {
	f, s := pumpFlow(newClock())
	if sent, ok := sendTo(t, f, s, "+449012345678"); ok || sent.Reason != ReasonNumberType {
		t.Errorf("premium rate: texted %v, reason %q", ok, sent.Reason)
	}
	if _, ok := sendTo(t, f, s, "+447400123456"); !ok {
		t.Error("a mobile number was withheld")
	}
	if _, ok := sendTo(t, f, s, "+445612345678"); !ok {
		t.Error("a VoIP number was withheld, but voip is not in Withhold")
	}
	f.Pumping.Bypass = func(p string) bool { return p == "+448001234567" }
	if _, ok := sendTo(t, f, s, "+448001234567"); !ok {
		t.Error("an allowlisted toll-free number was withheld")
	}
}

func TestPumpingPrefixLimit(t *testing.T) {
	f, s := pumpFlow(newClock())
	f.Pumping.MinSends = 0 // the limit alone
	texted := 0
	for i := range 15 {
		if sent, ok := sendTo(t, f, s, fmt.Sprintf("+44740012%04d", i)); ok {
			texted++
		} else if sent.Reason != ReasonPrefixLimit {
			t.Errorf("reason %q, want %s", sent.Reason, ReasonPrefixLimit)
		}
	}
	if texted != 10 {
		t.Errorf("%d texts to one prefix, want limit_prefix's 10", texted)
	}
	if _, ok := sendTo(t, f, s, "+447400130000"); !ok {
		t.Error("another prefix was withheld")
	}
}

// verifyLast verifies the code last texted, for the challenge sent.
func verifyLast(t *testing.T, f *Flow, s *fakeSMS, sent Sent) {
	t.Helper()
	if err := f.Verify(context.Background(), sent.Challenge, s.Last(t).Code); err != nil {
		t.Fatal(err)
	}
}

func TestPumpingPrefixBreaker(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	// limit_prefix texts the first 10; the breaker pauses at the 20th.
	var paused *Pause
	texted := 0
	for i := range 20 {
		sent, ok := sendTo(t, f, s, fmt.Sprintf("+44740012%04d", i))
		if ok {
			texted++
		}
		switch {
		case i < 10 && !ok:
			t.Fatalf("send %d withheld (%s) within limit_prefix", i, sent.Reason)
		case i >= 10 && i < 19 && sent.Reason != ReasonPrefixLimit:
			t.Fatalf("send %d: reason %q, want %s", i, sent.Reason, ReasonPrefixLimit)
		case i == 19:
			if ok || sent.Reason != ReasonPrefixPaused || sent.Paused == nil {
				t.Fatalf("20th unverified send: texted %v, reason %q, pause %v", ok, sent.Reason, sent.Paused)
			}
			paused = sent.Paused
		}
	}
	if paused.Scope != ScopePrefix || paused.Key != "+44740012" || paused.Sends != 20 || paused.Verified != 0 ||
		!paused.Until.Equal(c.Now().Add(12*time.Hour)) {
		t.Errorf("pause %+v", paused)
	}
	if sent, ok := sendTo(t, f, s, "+447400129999"); ok || sent.Reason != ReasonPrefixPaused || sent.Paused != nil {
		t.Errorf("during the pause: texted %v, reason %q, new pause %v", ok, sent.Reason, sent.Paused)
	}
	ps, err := f.Pauses(context.Background())
	if err != nil || len(ps) != 1 || ps[0].Key != "+44740012" {
		t.Fatalf("Pauses = %+v, %v", ps, err)
	}
	// It outlasts limit_prefix's hour (the store runs on the same clock),
	// and ends after PauseFor.
	c.Step(11 * time.Hour)
	if sent, ok := sendTo(t, f, s, "+447400129998"); ok || sent.Reason != ReasonPrefixPaused {
		t.Errorf("11h into a 12h pause: texted %v (%s)", ok, sent.Reason)
	}
	c.Step(time.Hour + time.Second)
	if _, ok := sendTo(t, f, s, "+447400129997"); !ok {
		t.Error("withheld after the pause ended")
	}
}

func TestPumpingVerifiedPrefixStaysOpen(t *testing.T) {
	f, s := pumpFlow(newClock())
	f.Pumping.LimitPrefix = 0
	for i := range 40 {
		sent, ok := sendTo(t, f, s, fmt.Sprintf("+44740012%04d", i))
		if !ok {
			t.Fatalf("send %d withheld (%s) in a prefix where one in four verifies", i, sent.Reason)
		}
		if i%4 == 0 {
			verifyLast(t, f, s, sent)
		}
	}
}

func TestPumpingLift(t *testing.T) {
	f, s := pumpFlow(newClock())
	f.Pumping.LimitPrefix = 0
	for i := range 20 {
		sendTo(t, f, s, fmt.Sprintf("+44740012%04d", i))
	}
	ctx := context.Background()
	if on, err := f.Lift(ctx, ScopePrefix, "+44740012"); err != nil || !on {
		t.Fatalf("Lift = %v, %v", on, err)
	}
	if ps, _ := f.Pauses(ctx); len(ps) != 0 {
		t.Errorf("pauses after the lift: %+v", ps)
	}
	// The windows start afresh: 19 more sends go out before it trips again.
	for i := range 19 {
		if sent, ok := sendTo(t, f, s, fmt.Sprintf("+44740012%04d", 100+i)); !ok {
			t.Fatalf("send %d after the lift withheld (%s)", i, sent.Reason)
		}
	}
	if on, err := f.Lift(ctx, ScopePrefix, "+44740012"); err != nil || on {
		t.Errorf("lifting what is not paused: %v, %v", on, err)
	}
	if _, err := f.Lift(ctx, "planet", "earth"); err == nil {
		t.Error("a bad scope was lifted")
	}
}

// TestPumpingCountryBreaker: a pumped prefix is one prefix of the
// country's many, so a country where most visitors verify stays open; a
// pump spread over many prefixes pauses the country.
func TestPumpingCountryBreaker(t *testing.T) {
	f, s := pumpFlow(newClock())
	f.Pumping.LimitPrefix = 0
	// 40 real visitors in prefixes of their own, most of them verifying,
	// around 200 sends to three pumped prefixes.
	for i := range 40 {
		sent, ok := sendTo(t, f, s, fmt.Sprintf("+4477%03d00000", 100+i))
		if !ok {
			t.Fatalf("real visitor %d withheld (%s)", i, sent.Reason)
		}
		if i%10 != 0 {
			verifyLast(t, f, s, sent)
		}
		for j := range 5 {
			sendTo(t, f, s, fmt.Sprintf("+4474001%d%04d", j%3, i*5+j))
		}
	}
	// Another country, pumped across many prefixes at once.
	var sent Sent
	for i := range 25 {
		sent, _ = sendTo(t, f, s, fmt.Sprintf("+3361%03d0000", i))
	}
	if sent.Reason != ReasonCountryPaused {
		t.Errorf("a pump over 25 French prefixes: last reason %q, want %s", sent.Reason, ReasonCountryPaused)
	}
	ps, _ := f.Pauses(context.Background())
	countries := map[string]bool{}
	for _, p := range ps {
		if p.Scope == ScopeCountry {
			countries[p.Key] = true
		}
	}
	if countries["GB"] || !countries["FR"] {
		t.Errorf("paused countries %v, want FR alone", countries)
	}
}

func TestPumpingStoreDown(t *testing.T) {
	f, _ := pumpFlow(newClock())
	f.Store = failingGets{Store: f.Store, part: ":pause:"}
	_, err := f.Send(context.Background(), "+447400123456", ipA, "example.com")
	if refusalKind(err) != Unavailable {
		t.Errorf("store down: %v, want unavailable", err)
	}
}

func TestPumpingOff(t *testing.T) {
	f, s := pumpFlow(newClock())
	f.Pumping = nil
	for i := range 30 {
		if _, ok := sendTo(t, f, s, fmt.Sprintf("+44740012%04d", i)); !ok {
			t.Fatal("withheld with no guard")
		}
	}
}

func TestPauseKeys(t *testing.T) {
	for _, tt := range []struct {
		scope, key string
		ok         bool
	}{
		{ScopePrefix, "+44740012", true}, {ScopeCountry, "GB", true}, {ScopeCountry, "ZZ", true},
		{ScopePrefix, "44740012", false}, {ScopeCountry, "gb", false}, {ScopeCountry, "GBR", false}, {"x", "GB", false},
	} {
		if err := CheckPauseKey(tt.scope, tt.key); (err == nil) != tt.ok {
			t.Errorf("CheckPauseKey(%s, %s) = %v", tt.scope, tt.key, err)
		}
	}
	if Prefix("+447400123456") != "+44740012" || Country("+447400123456") != "GB" {
		t.Error("Prefix or Country")
	}
}

// TestPumpingPrefixLimitVerified: verified codes give their slots back,
// so a prefix whose visitors verify is never limited.
func TestPumpingPrefixLimitVerified(t *testing.T) {
	f, s := pumpFlow(newClock())
	f.Pumping.MinSends = 0
	for i := range 30 {
		sent, ok := sendTo(t, f, s, fmt.Sprintf("+44740012%04d", i))
		if !ok {
			t.Fatalf("send %d withheld (%s), though every earlier one verified", i, sent.Reason)
		}
		verifyLast(t, f, s, sent)
	}
}

// TestPumpingRedisInstances: two instances on one Redis share the
// breakers' windows and pauses: ten sends on each trip the prefix's
// breaker for both, and a lift through one reopens it for the other.
func TestPumpingRedisInstances(t *testing.T) {
	srv := redistest.Start(t)
	c := newClock()
	var fs [2]*Flow
	var ss [2]*fakeSMS
	for i := range fs {
		ss[i] = &fakeSMS{}
		fs[i] = newRedisFlow(t, srv, ss[i])
		pf, _ := pumpFlow(c)
		fs[i].Pumping = pf.Pumping
		fs[i].Pumping.LimitPrefix = 0
		fs[i].Pumping.Now = c.Now
		fs[i].LimitIP, fs[i].LimitPhone, fs[i].LimitGlobal = 100000, 100, 100000
	}
	var last Sent
	for i := range 20 {
		last, _ = sendTo(t, fs[i%2], ss[i%2], fmt.Sprintf("+44740012%04d", i))
	}
	if last.Reason != ReasonPrefixPaused || last.Paused == nil {
		t.Fatalf("the 20th send across two instances: reason %q", last.Reason)
	}
	if sent, ok := sendTo(t, fs[0], ss[0], "+447400129999"); ok || sent.Reason != ReasonPrefixPaused {
		t.Errorf("the other instance texts a paused prefix (%s)", sent.Reason)
	}
	ctx := context.Background()
	if ps, err := fs[0].Pauses(ctx); err != nil || len(ps) != 1 || ps[0].Sends != 20 {
		t.Fatalf("Pauses = %+v, %v", ps, err)
	}
	if on, err := fs[1].Lift(ctx, ScopePrefix, "+44740012"); err != nil || !on {
		t.Fatalf("Lift = %v, %v", on, err)
	}
	if _, ok := sendTo(t, fs[0], ss[0], "+447400129998"); !ok {
		t.Error("withheld after the other instance lifted the pause")
	}
}
