package pumpsim

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// codeTTL is TimeOptions' code_ttl.
const codeTTL = 10 * time.Second

// TestScenarios: every scenario's plan is in order, on numbers that are
// what they claim, with real visitors on addresses and numbers of their
// own, nine in ten of whom type their code; and all of them run in
// under 16 minutes.
func TestScenarios(t *testing.T) {
	var total time.Duration
	names := map[string]bool{}
	for _, sc := range Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			if names[sc.Name] {
				t.Fatal("two scenarios of that name")
			}
			names[sc.Name] = true
			if got, ok := Find(sc.Name); !ok || got.Name != sc.Name {
				t.Error("Find does not find it")
			}
			total += sc.Duration()
			if !slices.IsSortedFunc(sc.Plan, func(a, b Req) int { return cmp.Compare(a.At, b.At) }) {
				t.Error("the plan is not in order")
			}
			attackIPs, realIPs, realPhones := map[string]bool{}, map[string]bool{}, map[string]bool{}
			var real, verify int
			for _, q := range sc.Plan {
				if _, err := phone.ParseE164(q.Phone); err != nil {
					t.Fatalf("%s: %v", q.Phone, err)
				}
				if !q.Real {
					attackIPs[q.IP] = true
					continue
				}
				if ty := phone.Type(q.Phone); ty != "mobile" && ty != "fixed_line_or_mobile" {
					t.Errorf("real visitor %s: %s", q.Phone, ty)
				}
				if realIPs[q.IP] || realPhones[q.Phone] {
					t.Errorf("real visitor %s %s twice", q.Phone, q.IP)
				}
				realIPs[q.IP], realPhones[q.Phone] = true, true
				real++
				if q.Verify {
					verify++
				}
				if q.VerifyAt > q.At && q.VerifyAt-q.At >= codeTTL {
					t.Errorf("%s types the code after it expired", q.Phone)
				}
			}
			if verify*10 != real*9 {
				t.Errorf("%d of %d real visitors verify, want 9 in 10", verify, real)
			}
			for ip := range realIPs {
				if attackIPs[ip] {
					t.Errorf("address %s is both an attacker's and a visitor's", ip)
				}
			}
		})
	}
	if total > 30*time.Minute {
		t.Errorf("the scenarios take %v", total)
	}
}

// TestLaunch: 60 US visitors from 60 prefixes ask together, and type
// their codes before they expire; 100 more follow, no attack.
func TestLaunch(t *testing.T) {
	sc := Launch()
	prefixes := map[string]bool{}
	var burst, after int
	for _, q := range sc.Plan {
		if !q.Real || phone.Region(q.Phone) != "US" {
			t.Fatalf("%+v", q)
		}
		prefixes[q.Phone[:len(q.Phone)-4]] = true
		if q.Burst && q.At == 0 {
			burst++
		} else if q.At > 4*time.Second && q.VerifyAt == 0 {
			after++
		}
	}
	if burst != 60 || after != 100 || len(prefixes) != 160 {
		t.Errorf("%d in the burst, %d after, %d prefixes; want 60, 100, 160", burst, after, len(prefixes))
	}
	if s := steps(sc.Plan); len(s[0].sends) != 60 {
		t.Errorf("the first step sends %d together, want 60", len(s[0].sends))
	}
}

// TestHostage: each address sends 40 codes (20 prefixes, 20 numbers in
// the victim's), all expired before the first real visitor asks, within
// the breaker window; the real visitors are new US numbers, 10 in the
// victim's prefix and 10 in the prefixes the attacker sent to.
func TestHostage(t *testing.T) {
	for _, addrs := range []int{1, 5} {
		sc := Hostage("h", addrs)
		perIP := map[string]int{}
		tags := map[string]int{}
		var lastAttack, firstReal, lastReal time.Duration
		firstReal = time.Hour
		for _, q := range sc.Plan {
			if phone.Region(q.Phone) != "US" {
				t.Errorf("%s is not US", q.Phone)
			}
			if !q.Real {
				perIP[q.IP]++
				lastAttack = max(lastAttack, q.At)
				continue
			}
			firstReal, lastReal = min(firstReal, q.At), max(lastReal, q.At)
			tags[q.Tag]++
		}
		if len(perIP) != addrs {
			t.Errorf("%d addresses, want %d", len(perIP), addrs)
		}
		for ip, n := range perIP {
			if n != 40 {
				t.Errorf("%s sends %d, want 40", ip, n)
			}
		}
		if firstReal < lastAttack+codeTTL || lastReal > time.Minute+10*time.Second {
			t.Errorf("attack until %v, real visitors %v to %v", lastAttack, firstReal, lastReal)
		}
		if tags[TagVictim] != 10 || tags[TagHostaged] != 10 || tags[""] != 80 {
			t.Errorf("real visitors: %v", tags)
		}
	}
}

// TestSlowPump: no prefix gets 10 sends in any window, no address sends
// twice in a window, the pump is 1,280 sends over 40 prefixes.
func TestSlowPump(t *testing.T) {
	sc := SlowPump()
	at := map[string][]time.Duration{}
	perWindow := map[string]int{}
	countries := map[string]int{}
	for _, q := range sc.Plan {
		if q.Real {
			countries[phone.Region(q.Phone)]++
			continue
		}
		p := q.Phone[:len(q.Phone)-4]
		if !slices.Contains(SlowPrefixes, p) || phone.Type(q.Phone) != "mobile" {
			t.Fatalf("%s", q.Phone)
		}
		at[p] = append(at[p], q.At)
		perWindow[fmt.Sprint(q.IP, q.At/Window)]++
	}
	n := 0
	for p, ts := range at {
		n += len(ts)
		for i := range ts {
			j := i
			for j < len(ts) && ts[j] < ts[i]+Window {
				j++
			}
			if j-i >= 10 {
				t.Fatalf("%s: %d sends in the window from %v", p, j-i, ts[i])
			}
		}
	}
	for k, c := range perWindow {
		if c > 1 {
			t.Fatalf("%s: %d sends", k, c)
		}
	}
	if n != 1280 || len(at) != 40 || countries["GB"] != 80 || countries["US"] != 20 || countries["IN"] != 20 {
		t.Errorf("%d sends to %d prefixes; real visitors %v", n, len(at), countries)
	}
}
