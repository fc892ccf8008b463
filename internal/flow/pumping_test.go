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
		Window: time.Hour, PauseFor: 12 * time.Hour, Trust: 90 * 24 * time.Hour,
	}
	return f, s
}

// network is the i-th client network of a test: an address of its own.
func network(i int) string { return fmt.Sprintf("198.51.%d.%d", i/250, i%250+1) }

// settle moves the clock past the codes sent so far: they are expired,
// and the breakers judge them.
func settle(c *clock, f *Flow) { c.Step(2*f.CodeTTL + time.Second) }

// sendTo sends to phone from ipA and reports whether an SMS went out.
func sendTo(t *testing.T, f *Flow, s *fakeSMS, phone string) (Sent, bool) {
	t.Helper()
	return sendFrom(t, f, s, phone, ipA)
}

// sendFrom sends to phone from the client at ip, and reports whether an
// SMS went out, and why not.
func sendFrom(t *testing.T, f *Flow, s *fakeSMS, phone, ip string) (Sent, bool) {
	t.Helper()
	before := s.Count()
	sent, err := f.Send(context.Background(), phone, ip, "example.com")
	if err != nil {
		t.Fatalf("send to %s: %v", phone, err)
	}
	texted := s.Count() > before
	if texted == sent.Withheld {
		t.Fatalf("send to %s: texted %v, yet withheld %v (%s)", phone, texted, sent.Withheld, sent.Reason)
	}
	return sent, texted
}

// verifyLast verifies the code last texted, for the challenge sent.
func verifyLast(t *testing.T, f *Flow, s *fakeSMS, sent Sent) {
	t.Helper()
	if err := f.Verify(context.Background(), sent.Challenge, s.Last(t).Code); err != nil {
		t.Fatal(err)
	}
}

// pumpPrefix sends n codes to prefix (a number without its last four
// digits), each from a network of its own starting at net0, and returns
// the last answer.
func pumpPrefix(t *testing.T, f *Flow, s *fakeSMS, prefix string, n, net0 int) Sent {
	t.Helper()
	var sent Sent
	for i := range n {
		sent, _ = sendFrom(t, f, s, fmt.Sprintf("%s%04d", prefix, 5000+net0+i), network(net0+i))
	}
	return sent
}

// pauses maps the pauses in force by "scope key".
func pauses(t *testing.T, f *Flow) map[string]Pause {
	t.Helper()
	ps, err := f.Pauses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Pause{}
	for _, p := range ps {
		out[p.Scope+" "+p.Key] = p
	}
	return out
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

// TestPumpingPrefixLimit: ten networks fill a prefix's slots; the
// eleventh, and a network that already has a slot, are held back.
func TestPumpingPrefixLimit(t *testing.T) {
	f, s := pumpFlow(newClock())
	f.Pumping.MinSends = 0 // the limit alone
	texted := 0
	for i := range 15 {
		if sent, ok := sendFrom(t, f, s, fmt.Sprintf("+44740012%04d", i), network(i)); ok {
			texted++
		} else if sent.Reason != ReasonPrefixLimit {
			t.Errorf("reason %q, want %s", sent.Reason, ReasonPrefixLimit)
		}
	}
	if texted != 10 {
		t.Errorf("%d texts to one prefix from 15 networks, want limit_prefix's 10", texted)
	}
	if sent, ok := sendFrom(t, f, s, "+447400129999", network(0)); ok || sent.Reason != ReasonPrefixLimit {
		t.Errorf("with the slots gone, a network's second send: texted %v (%s)", ok, sent.Reason)
	}
	if _, ok := sendFrom(t, f, s, "+447400130000", network(20)); !ok {
		t.Error("another prefix was withheld")
	}
}

// TestPumpingPrefixLimitOneClient: one client network takes one slot of
// a prefix however many codes it asks there, so it cannot hold the
// prefix's visitors hostage; its own sends are bounded by limit_ip.
func TestPumpingPrefixLimitOneClient(t *testing.T) {
	f, s := pumpFlow(newClock())
	attacker := network(0)
	for i := range 30 {
		if sent, ok := sendFrom(t, f, s, fmt.Sprintf("+1646555%04d", i), attacker); !ok {
			t.Fatalf("the client's send %d withheld (%s) with the prefix's slots free", i, sent.Reason)
		}
	}
	for i := 1; i <= 9; i++ {
		if sent, ok := sendFrom(t, f, s, fmt.Sprintf("+1646555%04d", 100+i), network(i)); !ok {
			t.Fatalf("visitor %d in the prefix withheld (%s) after one client's 30 sends", i, sent.Reason)
		}
	}
	// The IPv6 /64 is one network: a second address in it takes no slot.
	for i := range 5 {
		sendFrom(t, f, s, fmt.Sprintf("+1646555%04d", 200+i), fmt.Sprintf("2001:db8:1:2::%x", i+1))
	}
	if _, ok := sendFrom(t, f, s, "+16465550300", network(40)); ok {
		t.Error("the 11th network was texted: the /64's five addresses took more than one slot")
	}
}

// TestPumpingWindowEdge: networks that send on both sides of a window's
// edge count once each: six take six of a prefix's ten slots, not twelve,
// and twelve are twelve units of the breakers' twenty, not twenty-four.
func TestPumpingWindowEdge(t *testing.T) {
	for _, tt := range []struct {
		name                string
		networks, limit     int
		wantPause, visitors bool
	}{
		{"limit_prefix", 6, 10, false, true},
		{"breakers", 12, 0, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			f, s := pumpFlow(c)
			f.Pumping.LimitPrefix = tt.limit
			c.Step(time.Hour - time.Duration(c.Now().UnixNano()%int64(time.Hour)) - 30*time.Second) // 30 s before an edge
			for round := range 4 {
				for i := range tt.networks {
					sendFrom(t, f, s, fmt.Sprintf("+1646555%04d", round*100+i), network(i))
					sendFrom(t, f, s, fmt.Sprintf("+1%03d555%04d", 201+i, round), network(i))
				}
				c.Step(20 * time.Second)
			}
			settle(c, f)
			for i := range 4 {
				if x, ok := sendFrom(t, f, s, fmt.Sprintf("+1646555%04d", 9000+i), network(100+i)); !ok {
					t.Fatalf("visitor %d in the prefix withheld (%s)", i, x.Reason)
				}
			}
			if ps := pauses(t, f); len(ps) != 0 {
				t.Errorf("%d networks across a window's edge paused %v", tt.networks, ps)
			}
		})
	}
}

// TestPumpingPrefixBreaker: twenty networks' unverified codes trip the
// prefix's breaker only once they expired, never while pending.
func TestPumpingPrefixBreaker(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	f.Pumping.LimitPrefix = 0 // the breaker alone
	if sent := pumpPrefix(t, f, s, "+44740012", 20, 0); sent.Withheld {
		t.Fatalf("20 pending codes withheld the 20th (%s)", sent.Reason)
	}
	if len(pauses(t, f)) != 0 {
		t.Fatalf("pending codes paused %v", pauses(t, f))
	}
	settle(c, f)
	sent := pumpPrefix(t, f, s, "+44740012", 1, 20)
	if sent.Reason != ReasonPrefixPaused || sent.Paused == nil {
		t.Fatalf("after 20 expired codes: reason %q, pause %v", sent.Reason, sent.Paused)
	}
	pz := sent.Paused
	if pz.Scope != ScopePrefix || pz.Key != "+44740012" || pz.Sends != 21 || pz.Networks != 21 ||
		pz.Expired != 20 || pz.Verified != 0 || !pz.Until.Equal(c.Now().Add(12*time.Hour)) {
		t.Errorf("pause %+v: want 21 sends from 21 networks, 20 expired, none verified, 12h", pz)
	}
	if sent, ok := sendFrom(t, f, s, "+447400129999", network(99)); ok || sent.Reason != ReasonPrefixPaused || sent.Paused != nil {
		t.Errorf("during the pause: texted %v, reason %q, new pause %v", ok, sent.Reason, sent.Paused)
	}
	if p, ok := pauses(t, f)["prefix +44740012"]; !ok || p.Expired != 20 || p.Networks != 21 {
		t.Fatalf("Pauses: %+v", pauses(t, f))
	}
	c.Step(11 * time.Hour)
	if sent, ok := sendFrom(t, f, s, "+447400129998", network(98)); ok || sent.Reason != ReasonPrefixPaused {
		t.Errorf("11h into a 12h pause: texted %v (%s)", ok, sent.Reason)
	}
	c.Step(time.Hour + time.Second)
	if _, ok := sendFrom(t, f, s, "+447400129997", network(97)); !ok {
		t.Error("withheld after the pause ended")
	}
}

// TestPumpingSettles: a code counts as pending while it may be, and no
// longer than a third of its life after it expired.
func TestPumpingSettles(t *testing.T) {
	for _, tt := range []struct {
		after time.Duration
		trips bool
	}{
		{5*time.Minute - time.Second, false}, // every code still live
		{5*time.Minute + 5*time.Minute/3 + time.Second, true},
	} {
		c := newClock()
		f, s := pumpFlow(c)
		f.Pumping.LimitPrefix = 0
		pumpPrefix(t, f, s, "+44740012", 20, 0)
		c.Step(tt.after)
		if sent := pumpPrefix(t, f, s, "+44740012", 1, 20); (sent.Paused != nil) != tt.trips {
			t.Errorf("%v after 20 unverified codes: pause %+v, want one: %v", tt.after, sent.Paused, tt.trips)
		}
	}
	// The pending slots of two counters, across an epoch's edge.
	cur, prev := int64(5)|int64(7)<<slotBits, int64(1)<<(slotBits*2)|int64(2)<<(slotBits*3)
	if n := pendingSlots(cur, prev, 2, 5); n != 1+2+5+7 {
		t.Errorf("pendingSlots = %d, want 15", n)
	}
}

// TestPumpingLaunchBurst: new visitors who all ask at once, before any
// of them types a code, trip nothing, on a fresh site; nor do those of
// them who then never type it, amid the many who do.
func TestPumpingLaunchBurst(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	var sent []Sent
	for i := range 60 { // sixty prefixes of one country
		x, ok := sendFrom(t, f, s, fmt.Sprintf("+1201%03d%04d", 200+i, i), network(i))
		if !ok {
			t.Fatalf("visitor %d of the burst withheld (%s)", i, x.Reason)
		}
		sent = append(sent, x)
	}
	for i := range 9 { // and an office of nine in one prefix, each on their own line
		x, ok := sendFrom(t, f, s, fmt.Sprintf("+1212555%04d", i), network(100+i))
		if !ok {
			t.Fatalf("office visitor %d withheld (%s)", i, x.Reason)
		}
		sent = append(sent, x)
	}
	c.Step(time.Minute)
	for i, x := range sent {
		if i%10 != 9 {
			if err := f.Verify(context.Background(), x.Challenge, s.To(x.Phone).Code); err != nil {
				t.Fatal(err)
			}
		}
	}
	settle(c, f)
	for i := range 100 {
		if x, ok := sendFrom(t, f, s, fmt.Sprintf("+1202%03d%04d", 200+i, i), network(200+i)); !ok {
			t.Fatalf("new visitor %d after the burst withheld (%s)", i, x.Reason)
		}
	}
	if len(pauses(t, f)) != 0 {
		t.Errorf("a launch paused %v", pauses(t, f))
	}
}

// TestPumpingOneClientCannotPause: one client network, sending for hours
// to twenty prefixes of a country and to one victim's prefix and never
// verifying, pauses neither; nor do five; everyone else there is texted.
func TestPumpingOneClientCannotPause(t *testing.T) {
	for _, attackers := range []int{1, 5} {
		t.Run(fmt.Sprintf("%d networks", attackers), func(t *testing.T) {
			c := newClock()
			f, s := pumpFlow(c)
			for round := range 6 {
				for i := range 20 {
					ip := network(i % attackers)
					sendFrom(t, f, s, fmt.Sprintf("+1%03d555%04d", 201+i, round), ip)
					sendFrom(t, f, s, fmt.Sprintf("+1646555%04d", round*20+i), ip)
				}
				c.Step(20 * time.Minute)
			}
			if ps := pauses(t, f); len(ps) != 0 {
				t.Fatalf("%d networks paused %v", attackers, ps)
			}
			for i := range 9 {
				if x, ok := sendFrom(t, f, s, fmt.Sprintf("+1646555%04d", 9000+i), network(100+i)); !ok {
					t.Fatalf("visitor %d in the victim's prefix withheld (%s)", i, x.Reason)
				}
				if x, ok := sendFrom(t, f, s, fmt.Sprintf("+1%03d777%04d", 201+i, i), network(200+i)); !ok {
					t.Fatalf("visitor %d in the country withheld (%s)", i, x.Reason)
				}
			}
		})
	}
}

// TestPumpingVerifiedPrefixStaysOpen: a prefix where one in four
// verifies is never paused.
func TestPumpingVerifiedPrefixStaysOpen(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	f.Pumping.LimitPrefix = 0
	for i := range 80 {
		sent, ok := sendFrom(t, f, s, fmt.Sprintf("+44740012%04d", i), network(i))
		if !ok {
			t.Fatalf("send %d withheld (%s) in a prefix where one in four verifies", i, sent.Reason)
		}
		if i%4 == 0 {
			verifyLast(t, f, s, sent)
		}
		c.Step(time.Minute)
	}
}

func TestPumpingLift(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	f.Pumping.LimitPrefix = 0
	pumpPrefix(t, f, s, "+44740012", 20, 0)
	settle(c, f)
	pumpPrefix(t, f, s, "+44740012", 1, 20)
	ctx := context.Background()
	if on, err := f.Lift(ctx, ScopePrefix, "+44740012"); err != nil || !on {
		t.Fatalf("Lift = %v, %v", on, err)
	}
	if ps := pauses(t, f); len(ps) != 0 {
		t.Errorf("pauses after the lift: %+v", ps)
	}
	// The windows start afresh: sends go out again.
	for i := range 19 {
		if sent, ok := sendFrom(t, f, s, fmt.Sprintf("+44740012%04d", 100+i), network(100+i)); !ok {
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
// pump spread over many prefixes from many networks pauses the country's
// unknown prefixes, while known phones and prefixes where someone
// verified keep getting their codes.
func TestPumpingCountryBreaker(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	f.Pumping.LimitPrefix = 0
	// 40 real visitors in prefixes of their own, most of them verifying,
	// around 200 sends to three pumped prefixes.
	for i := range 40 {
		sent, ok := sendFrom(t, f, s, fmt.Sprintf("+4477%03d00000", 100+i), network(1000+i))
		if !ok {
			t.Fatalf("real visitor %d withheld (%s)", i, sent.Reason)
		}
		if i%10 != 0 {
			verifyLast(t, f, s, sent)
		}
		for j := range 5 {
			sendFrom(t, f, s, fmt.Sprintf("+4474001%d%04d", j%3, i*5+j), network(i*5+j))
		}
	}
	// A French visitor verifies; then a pump over 25 French prefixes.
	known, _ := sendFrom(t, f, s, "+33612340000", network(2000))
	verifyLast(t, f, s, known)
	for i := range 25 {
		sendFrom(t, f, s, fmt.Sprintf("+3361%03d0000", 500+i), network(3000+i))
	}
	settle(c, f)
	sent, ok := sendFrom(t, f, s, "+33615990000", network(3100))
	if sent.Paused == nil || sent.Paused.Scope != ScopeCountry {
		t.Fatalf("after a pump over 25 French prefixes: pause %v", sent.Paused)
	}
	if !ok {
		t.Errorf("the send that tripped FR's breaker, to a fresh prefix, was withheld (%s)", sent.Reason)
	}
	ps := pauses(t, f)
	if _, ok := ps["country GB"]; ok {
		t.Errorf("GB paused: %+v", ps)
	}
	// The French visitor's verified code is in the evidence: one of 27.
	fr, ok := ps["country FR"]
	if !ok || fr.Networks < 20 || fr.Expired < 20 || fr.Verified != 1 {
		t.Errorf("FR's pause %+v: want 20 or more networks and expired sends, one verified", fr)
	}
	// Held back: a new number in a pumped prefix, from a new network.
	if x, ok := sendFrom(t, f, s, "+33615051234", network(4003)); ok || x.Reason != ReasonCountryPaused {
		t.Errorf("a pumped prefix of a paused country: texted %v (%s)", ok, x.Reason)
	}
	// Not held back: a known phone, a new number in a known prefix, a new
	// number in a prefix the pump never hit, another country.
	for _, tt := range []struct {
		name, phone string
		net         int
	}{
		{"a known phone", "+33612340000", 2000},
		{"a new number in a known prefix", "+33612341111", 4000},
		{"a new number in a fresh prefix", "+33698760000", 4001},
		{"a GB visitor", "+447799912345", 4002},
	} {
		if x, ok := sendFrom(t, f, s, tt.phone, network(tt.net)); !ok {
			t.Errorf("%s withheld in a paused country (%s)", tt.name, x.Reason)
		}
	}
}

// TestPumpingCountryNetworksPerPrefix: five hundred networks on three
// prefixes are three prefixes' evidence for the country, not five
// hundred networks': the country stays open.
func TestPumpingCountryNetworksPerPrefix(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	f.Pumping.LimitPrefix, f.Pumping.MinSends = 0, 100 // the prefixes' breakers out of the way
	for i := range 500 {
		sendFrom(t, f, s, fmt.Sprintf("+4474001%d%04d", i%3, i), network(i))
	}
	settle(c, f)
	f.Pumping.MinSends = 20
	if x, ok := sendFrom(t, f, s, "+447400309999", network(600)); !ok || x.Paused != nil {
		t.Errorf("three pumped prefixes paused GB: texted %v, pause %+v", ok, x.Paused)
	}
}

// TestPumpingCountryFloor: a country where the site verifies many codes a
// day needs more evidence: a pump over 25 prefixes that pauses a quiet
// site's country does not pause a busy site's.
func TestPumpingCountryFloor(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	f.Pumping.LimitPrefix = 0
	for i := range 600 { // yesterday: 600 verified codes in France
		sent, _ := sendFrom(t, f, s, fmt.Sprintf("+336%04d%04d", i, i), network(i))
		verifyLast(t, f, s, sent)
	}
	c.Step(24 * time.Hour)
	for i := range 25 {
		sendFrom(t, f, s, fmt.Sprintf("+3377%03d0000", i), network(3000+i))
	}
	settle(c, f)
	if sent, _ := sendFrom(t, f, s, "+33779990000", network(3100)); sent.Paused != nil {
		t.Errorf("26 expired units paused a country with 600 verified a day (floor 30): %+v", sent.Paused)
	}
	for i := range 10 {
		sendFrom(t, f, s, fmt.Sprintf("+3378%03d0000", i), network(3200+i))
	}
	c.Step(2*f.CodeTTL + 2*time.Minute)
	if sent, _ := sendFrom(t, f, s, "+33789990000", network(3300)); sent.Paused == nil || sent.Paused.Scope != ScopeCountry {
		t.Errorf("36 expired units did not pause it: %+v", sent)
	}
}

// TestPumpingKnownPhone: a phone that verified passes a pause of its
// prefix, until it is sent knownSlack codes in a row it does not verify;
// with Trust off, it does not.
func TestPumpingKnownPhone(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	const me = "+447400125555"
	sent, _ := sendFrom(t, f, s, me, network(500))
	verifyLast(t, f, s, sent)
	f.Pumping.LimitPrefix = 0
	pumpPrefix(t, f, s, "+44740012", 20, 0)
	settle(c, f)
	if sent := pumpPrefix(t, f, s, "+44740012", 1, 20); sent.Reason != ReasonPrefixPaused {
		t.Fatalf("the prefix did not trip: %q", sent.Reason)
	}
	for i := range knownSlack {
		if x, ok := sendFrom(t, f, s, me, network(500)); !ok {
			t.Fatalf("the known phone's code %d withheld (%s)", i, x.Reason)
		}
		c.Step(time.Minute)
	}
	if _, ok := sendFrom(t, f, s, me, network(500)); ok {
		t.Error("a known phone that verified none of its last three codes still passes")
	}
	// A verified code gives the pass back (the code comes through an
	// allowlisting, the one way to get it while the prefix is paused).
	c.Step(time.Minute)
	f.Pumping.Bypass = func(p string) bool { return p == me }
	sent, _ = sendFrom(t, f, s, me, network(500))
	f.Pumping.Bypass = nil
	verifyLast(t, f, s, sent)
	c.Step(time.Minute)
	if x, ok := sendFrom(t, f, s, me, network(500)); !ok {
		t.Errorf("a phone that verified again does not pass (%s)", x.Reason)
	}
	f.Pumping.Trust = 0
	c.Step(time.Minute)
	if _, ok := sendFrom(t, f, s, "+447400125555", network(500)); ok {
		t.Error("with Trust off, a phone passed a pause")
	}
}

// TestPumpingMonitor: in monitor mode every rule judges and pauses as it
// would, and says so in Flagged, but every code is texted.
func TestPumpingMonitor(t *testing.T) {
	c := newClock()
	f, s := pumpFlow(c)
	f.Pumping.Monitor = true
	flagged := map[string]int{}
	for i := range 20 {
		sent, ok := sendFrom(t, f, s, fmt.Sprintf("+44740012%04d", i), network(i))
		if !ok || sent.Withheld || sent.Reason != "" {
			t.Fatalf("monitor mode withheld send %d (%s)", i, sent.Reason)
		}
		flagged[sent.Flagged]++
	}
	if flagged[ReasonPrefixLimit] != 10 {
		t.Errorf("flagged %v, want 10 past limit_prefix", flagged)
	}
	settle(c, f)
	pumpPrefix(t, f, s, "+44740012", 6, 100)
	if _, ok := pauses(t, f)["prefix +44740012"]; !ok {
		t.Errorf("monitor mode set no pause: %v", pauses(t, f))
	}
	if sent, ok := sendFrom(t, f, s, "+447400129999", network(999)); !ok || sent.Flagged != ReasonPrefixPaused {
		t.Errorf("a paused prefix in monitor mode: texted %v, flagged %q", ok, sent.Flagged)
	}
	if sent, ok := sendFrom(t, f, s, "+449012345678", network(998)); !ok || sent.Flagged != ReasonNumberType {
		t.Errorf("premium rate in monitor mode: texted %v, flagged %q", ok, sent.Flagged)
	}
}

func TestPumpingStoreDown(t *testing.T) {
	f, _ := pumpFlow(newClock())
	for _, part := range []string{":pause:", ":kn:", ":pw:", ":pp:"} {
		f.Store = failingGets{Store: f.Store, part: part}
		_, err := f.Send(context.Background(), "+447400123456", ipA, "example.com")
		if part != ":pw:" && part != ":pp:" && refusalKind(err) != Unavailable {
			t.Errorf("store down for %s: %v, want unavailable", part, err)
		}
		f.Store = f.Store.(failingGets).Store
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
	// A pause written before pauses named their expired sends and
	// networks still reads.
	if p, ok := decodePause(ScopePrefix, "+44740012", []byte("1700000000000 20 0")); !ok || p.Sends != 20 {
		t.Errorf("old pause: %+v, %v", p, ok)
	}
}

// TestPumpingPrefixLimitVerified: verified codes give their slots back,
// so a prefix whose visitors verify is never limited.
func TestPumpingPrefixLimitVerified(t *testing.T) {
	f, s := pumpFlow(newClock())
	f.Pumping.MinSends = 0
	for i := range 30 {
		sent, ok := sendFrom(t, f, s, fmt.Sprintf("+44740012%04d", i), network(i))
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
	for i := range 20 {
		sendFrom(t, fs[i%2], ss[i%2], fmt.Sprintf("+44740012%04d", i), network(i))
	}
	c.Step(2*fs[0].CodeTTL + time.Second)
	last, _ := sendFrom(t, fs[0], ss[0], "+447400120020", network(20))
	if last.Reason != ReasonPrefixPaused || last.Paused == nil {
		t.Fatalf("the 21st send across two instances: reason %q", last.Reason)
	}
	if sent, ok := sendFrom(t, fs[1], ss[1], "+447400129999", network(99)); ok || sent.Reason != ReasonPrefixPaused {
		t.Errorf("the other instance texts a paused prefix (%s)", sent.Reason)
	}
	ctx := context.Background()
	if ps, err := fs[0].Pauses(ctx); err != nil || len(ps) != 1 || ps[0].Networks != 21 {
		t.Fatalf("Pauses = %+v, %v", ps, err)
	}
	if on, err := fs[1].Lift(ctx, ScopePrefix, "+44740012"); err != nil || !on {
		t.Fatalf("Lift = %v, %v", on, err)
	}
	if _, ok := sendFrom(t, fs[0], ss[0], "+447400129998", network(98)); !ok {
		t.Error("withheld after the other instance lifted the pause")
	}
}
