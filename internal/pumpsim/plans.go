package pumpsim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// The scenarios of issue 23, each a plan in the time of TimeOptions
// (Window is a breaker hour): what the guard must stop, and the real
// visitors it must never stop.

// Scenarios are the bench's scenarios, in the table's order.
func Scenarios() []Scenario {
	return []Scenario{Today(), Launch(), Hostage("hostage-one", 1), Hostage("hostage-handful", 5), PumpVerifiesTenth(), SlowPump()}
}

// Find is the scenario named name.
func Find(name string) (Scenario, bool) {
	i := slices.IndexFunc(Scenarios(), func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, false
	}
	return Scenarios()[i], true
}

// AttackPrefixes are the pumped prefixes of today's attack (numbers
// without their last four digits), all GB mobile ranges.
var AttackPrefixes = []string{"+44740010", "+44740011", "+44740020"}

// Premium is where the premium-rate numbers of the attack start.
const Premium = "+449012340000"

// Countries are the real visitors' countries; GB is also attacked.
var Countries = []string{"GB", "US", "DE", "FR", "IN"}

// TodayLength is how long today's attack runs: three breaker hours, so
// that the breakers' windows roll over during it.
const TodayLength = 3 * Window

// Plan is the attack of issue 16 and the real visitors, interleaved: four
// attack sends, then one real visitor, over and over, evenly over
// TodayLength. 2,000 sends from 500 client addresses, never verified:
// 1,800 to sequential numbers in the three AttackPrefixes (round-robin)
// and 200 to premium-rate numbers; 500 real visitors, 100 in each of
// Countries, on random mobile numbers outside the pumped prefixes.
func Plan() []Req {
	var attack []Req
	n := 0
	for i := range 600 {
		for _, p := range AttackPrefixes {
			attack = append(attack, Req{Phone: fmt.Sprintf("%s%04d", p, i)})
			if n++; n%9 == 0 && len(attack) < 2000 {
				attack = append(attack, Req{Phone: premium(n / 9)})
			}
		}
	}
	for i := 0; len(attack) < 2000; i++ {
		attack = append(attack, Req{Phone: premium(1000 + i)})
	}
	attack = attack[:2000]
	for i := range attack {
		attack[i].IP = fmt.Sprintf("198.18.%d.%d", i%500/250, i%500%250+1)
	}
	g := newNumbers(16, AttackPrefixes...)
	var real []Req
	for i := range 500 {
		real = append(real, visitor(i, g.mobile(Countries[i%len(Countries)])))
	}
	var out []Req
	for i, a := range attack {
		out = append(out, a)
		if i%4 == 3 {
			out = append(out, real[i/4])
		}
	}
	return spread(out, 0, TodayLength)
}

// Today is Plan, the attack the guard was built against.
func Today() Scenario {
	return Scenario{Name: "today", Plan: Plan(),
		About: "2,000 sends from 500 addresses to 3 GB prefixes and premium-rate numbers, amid 500 visitors in 5 countries, over 3 windows"}
}

// PumpVerifiesTenth is today's attack by a pump that types one in ten of
// the codes that reach it (numbers it controls), to look like real
// visitors to a conversion-rate breaker.
func PumpVerifiesTenth() Scenario {
	return Scenario{Name: "pump-verifies-tenth", Plan: Plan(), AttackVerifies: 10,
		About: "today's attack, the attacker typing 1 in 10 of the codes that reach it"}
}

// Launch is a burst of new visitors and no attack: 60 US visitors from 60
// prefixes ask for codes in the same moment, before any of them types
// one (four seconds later, nine in ten); then 100 more new US visitors,
// one every 0.6 s.
func Launch() Scenario {
	g := newNumbers(23)
	var plan []Req
	for i := range 60 {
		q := visitor(i, g.mobile("US"))
		q.Burst, q.VerifyAt = true, 4*time.Second
		plan = append(plan, q)
	}
	var more []Req
	for i := range 100 {
		more = append(more, visitor(60+i, g.mobile("US")))
	}
	return Scenario{Name: "launch", Plan: append(plan, spread(more, 6*time.Second, time.Minute)...),
		About: "60 new US visitors from 60 prefixes ask at once, type 4 s later; then 100 more over a minute"}
}

// VictimPrefix is the prefix the hostage scenarios aim at one victim's
// range; HostagePrefixes are the 20 US prefixes they aim at the country.
const VictimPrefix = "+1646555"

var HostagePrefixes = []string{
	"+1201555", "+1212555", "+1213555", "+1305555", "+1312555", "+1415555", "+1503555",
	"+1512555", "+1617555", "+1702555", "+1713555", "+1718555", "+1206555", "+1303555",
	"+1404555", "+1602555", "+1615555", "+1704555", "+1801555", "+1919555",
}

// Tags of the real visitors of the hostage scenarios.
const (
	TagVictim   = "in the victim prefix " + VictimPrefix
	TagHostaged = "in the 20 prefixes the attacker sent to"
)

// Hostage is an attempt to silence a country and one victim's prefix
// from a few client addresses: each address sends 20 codes to numbers in
// VictimPrefix, then one to a number in each of HostagePrefixes (40 each,
// every address other numbers; the addresses take turns), all within
// 10 s, and types none. The
// codes expire (code_ttl 10s); from 25 s to 65 s, within the same
// breaker window, 100 new US visitors ask for codes: 10 in the victim's
// prefix, 10 in the prefixes the attacker sent to, 80 elsewhere.
//
// limit_ip is 40 so that the attacker's sends all count: limit_ip counts
// in a real hour, which the bench does not compress.
func Hostage(name string, addrs int) Scenario {
	// The victim's prefix first, then the country: so that on a guard
	// where either can trip, both do.
	var victim, country []Req
	for k := range 20 {
		for a := range addrs {
			ip := fmt.Sprintf("203.0.113.%d", 10+a)
			victim = append(victim, Req{Phone: fmt.Sprintf("%s%04d", VictimPrefix, 20*a+k), IP: ip})
			country = append(country, Req{Phone: fmt.Sprintf("%s%04d", HostagePrefixes[k], a), IP: ip})
		}
	}
	attack := append(victim, country...)
	g := newNumbers(uint64(100+addrs), append([]string{VictimPrefix}, HostagePrefixes...)...)
	var real []Req
	for i := range 100 {
		var q Req
		switch i % 10 {
		case 0:
			q = visitor(i, fmt.Sprintf("%s%04d", VictimPrefix, 5000+i))
			q.Tag = TagVictim
		case 5:
			q = visitor(i, fmt.Sprintf("%s%04d", HostagePrefixes[i/10], 5000+i))
			q.Tag = TagHostaged
		default:
			q = visitor(i, g.mobile("US"))
		}
		real = append(real, q)
	}
	return Scenario{Name: name, Options: "limit_ip 40",
		Plan: append(spread(attack, 0, 10*time.Second), spread(real, 25*time.Second, 40*time.Second)...),
		About: fmt.Sprintf("%d address(es) send %d codes to 20 US prefixes and %d to %sxxxx in 10 s, verify none; "+
			"then 100 new US visitors (10 in that prefix)", addrs, 20*addrs, 20*addrs, VictimPrefix)}
}

// SlowPrefixes are the 40 GB prefixes of the slow pump.
var SlowPrefixes = func() []string {
	var out []string
	for i := range 40 {
		out = append(out, fmt.Sprintf("+447400%d", 50+i))
	}
	return out
}()

// SlowPump is a pump that keeps every prefix under every per-prefix rule:
// 8 sends a window to each of SlowPrefixes (one every 15 s, so at most
// 9 in any window, under limit_prefix's 10 and breaker_sends' 20), from
// 640 addresses (none twice in a window), over 4 windows: 1,280 sends,
// never verified; amid 160 real visitors evenly over the same 4 windows,
// 80 in GB and 20 in each of US, DE, FR and IN.
func SlowPump() Scenario {
	const windows, perWindow = 4, 8
	var attack []Req
	for w := range windows {
		for k := range perWindow {
			for _, p := range SlowPrefixes {
				i := len(attack)
				attack = append(attack, Req{Phone: fmt.Sprintf("%s%04d", p, w*perWindow+k),
					IP: fmt.Sprintf("198.18.%d.%d", i%640/250, i%640%250+1)})
			}
		}
	}
	length := windows * Window
	g := newNumbers(40, SlowPrefixes...)
	var real []Req
	for i := range 160 {
		c := "GB"
		if i%2 == 1 {
			c = Countries[1+i/2%4]
		}
		real = append(real, visitor(i, g.mobile(c)))
	}
	// Each visitor half a step off the attack's, so none ties with a send.
	plan := append(spread(attack, 0, length), spread(real, length/160/2, length)...)
	slices.SortStableFunc(plan, func(a, b Req) int { return cmp.Compare(a.At, b.At) })
	return Scenario{Name: "slow-pump", Plan: plan,
		About: "1,280 sends over 4 windows from 640 addresses to 40 GB prefixes, 8 per prefix a window; amid 160 visitors (80 GB)"}
}

// spread gives the plan's requests times evenly from start over length.
func spread(plan []Req, start, length time.Duration) []Req {
	for i := range plan {
		plan[i].At = start + time.Duration(i)*length/time.Duration(len(plan))
	}
	return plan
}

// visitor is the i-th real visitor of a plan, on their own address; nine
// in ten type their code.
func visitor(i int, num string) Req {
	return Req{Phone: num, IP: fmt.Sprintf("100.64.%d.%d", i/250, i%250+1), Real: true, Verify: i%10 != 9}
}

func premium(i int) string {
	return fmt.Sprintf("%s%04d", Premium[:len(Premium)-4], i)
}

// numbers makes random mobile numbers (a fixed seed: every run the same),
// each in a prefix of its own, outside the prefixes taken.
type numbers struct {
	r    *rand.Rand
	seen map[string]bool
}

func newNumbers(seed uint64, taken ...string) *numbers {
	g := &numbers{r: rand.New(rand.NewPCG(seed, seed)), seen: map[string]bool{}}
	for _, p := range taken {
		g.seen[p] = true
	}
	return g
}

var mobiles = map[string]struct {
	start  string
	length int
}{"GB": {"+447", 13}, "US": {"+1", 12}, "DE": {"+4917", 14}, "FR": {"+336", 12}, "IN": {"+919", 13}}

// mobile is a new number of country c that phonenumbers calls mobile.
func (g *numbers) mobile(c string) string {
	for {
		num := mobiles[c].start
		for len(num) < mobiles[c].length {
			num += string(rune('0' + g.r.IntN(10)))
		}
		t := phone.Type(num)
		if _, err := phone.ParseE164(num); err != nil || (t != "mobile" && t != "fixed_line_or_mobile") ||
			phone.Region(num) != c || g.seen[num[:len(num)-4]] {
			continue
		}
		g.seen[num[:len(num)-4]] = true
		return num
	}
}
