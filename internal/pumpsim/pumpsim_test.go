package pumpsim

import (
	"slices"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// TestPlan: the plan is the attack the issue names, on numbers that are
// what they claim (phonenumbers' own types).
func TestPlan(t *testing.T) {
	plan := Plan()
	attackIPs, realIPs := map[string]bool{}, map[string]bool{}
	perCountry := map[string]int{}
	var attack, premium, real, verify int
	for _, q := range plan {
		if _, err := phone.ParseE164(q.Phone); err != nil {
			t.Fatalf("%s: %v", q.Phone, err)
		}
		prefix := q.Phone[:len(q.Phone)-4]
		if !q.Real {
			attack++
			attackIPs[q.IP] = true
			switch {
			case phone.Type(q.Phone) == "premium_rate":
				premium++
			case slices.Contains(AttackPrefixes, prefix) && phone.Type(q.Phone) == "mobile":
			default:
				t.Errorf("attack number %s is neither premium rate nor a mobile of the pumped prefixes (%s)", q.Phone, phone.Type(q.Phone))
			}
			continue
		}
		real++
		realIPs[q.IP] = true
		perCountry[phone.Region(q.Phone)]++
		if slices.Contains(AttackPrefixes, prefix) {
			t.Errorf("real visitor %s is in a pumped prefix", q.Phone)
		}
		if q.Verify {
			verify++
		}
	}
	if attack != 2000 || real != 500 || len(attackIPs) != 500 || len(realIPs) != 500 {
		t.Errorf("%d attack sends from %d addresses, %d real from %d; want 2000 from 500, 500 from 500", attack, len(attackIPs), real, len(realIPs))
	}
	if premium < 100 || premium > 300 {
		t.Errorf("%d premium-rate numbers", premium)
	}
	for _, c := range Countries {
		if perCountry[c] != 100 {
			t.Errorf("%s: %d real visitors, want 100", c, perCountry[c])
		}
	}
	if verify != 450 {
		t.Errorf("%d real visitors verify, want 450 (90%%)", verify)
	}
	for ip := range realIPs {
		if attackIPs[ip] {
			t.Errorf("address %s is both an attacker's and a visitor's", ip)
		}
	}
	if !strings.HasPrefix(Figures{}.Report(), "pumping sends") {
		t.Error("report")
	}
}
