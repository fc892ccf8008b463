package pumpsim

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// TestPlan: the plan is the attack the issue names, on numbers that are
// what they claim (phonenumbers' own types).
func TestPlan(t *testing.T) {
	plan := Plan()
	if !slices.IsSortedFunc(plan, func(a, b Req) int { return cmp.Compare(a.At, b.At) }) || plan[len(plan)-1].At >= TodayLength {
		t.Error("the plan is not spread in order over TodayLength")
	}
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

// fakeSite answers sends and verifies as phone_otp does, texting every
// number but those it withholds, and is its own provider.
type fakeSite struct {
	mu       sync.Mutex
	codes    map[string]string
	withhold map[string]bool
	n        int
}

const fakeSent = `{"status":"sent"}`

func (s *fakeSite) Code(phone string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[phone]
	return c, ok
}

func (s *fakeSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct{ Phone, Code string }
	json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/_otp/send":
		s.n++
		code := fmt.Sprint(100000 + s.n)
		if !s.withhold[body.Phone] {
			s.codes[body.Phone] = code
		}
		http.SetCookie(w, &http.Cookie{Name: "otp_session_challenge", Value: body.Phone + "-" + code})
		io.WriteString(w, fakeSent)
	case "/_otp/verify":
		ck, err := r.Cookie("otp_session_challenge")
		if err != nil || !strings.HasSuffix(ck.Value, "-"+body.Code) {
			http.Error(w, `{"status":"wrong_code"}`, http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"status":"verified"}`)
	}
}

// TestRunScenario: the driver sends a burst together and types its codes
// later, types one in AttackVerifies of the attacker's codes that reach
// it, counts what reached the provider, and steps a fake clock through
// the plan instead of sleeping.
func TestRunScenario(t *testing.T) {
	site := &fakeSite{codes: map[string]string{}, withhold: map[string]bool{"+447400200005": true, "+14155550101": true}}
	srv := httptest.NewServer(site)
	defer srv.Close()
	var plan []Req
	for i, p := range []string{"+14155550100", "+12125550100", "+13125550100"} {
		q := visitor(i, p)
		q.Burst, q.VerifyAt = true, time.Second
		plan = append(plan, q)
	}
	plan[2].Verify = false
	var attack []Req
	for i := range 20 {
		attack = append(attack, Req{Phone: fmt.Sprintf("+44740020%04d", i), IP: "198.18.0.1"})
	}
	plan = append(plan, spread(attack, 2*time.Second, 10*time.Second)...)
	late := visitor(3, "+14155550101")
	late.At = 12 * time.Second
	plan = append(plan, late)

	var advanced time.Duration
	f, err := RunScenario(context.Background(), Config{
		URL: srv.URL, SentOK: fakeSent, Cookie: "otp_session_challenge",
		Advance: func(d time.Duration) { advanced += d },
	}, site, Scenario{Plan: plan, AttackVerifies: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := Figures{
		AttackSends: 20, AttackReached: 19, AttackToVerify: 1, AttackVerified: 1,
		RealSends: 4, RealReached: 3, RealToVerify: 2, RealVerified: 2, Sent200: 24,
	}
	f.OtherAnswers, f.ByCountry, f.ByTag, f.Took, f.Late = nil, nil, nil, 0, 0
	if !reflect.DeepEqual(f, want) {
		t.Errorf("figures %+v, want %+v", f, want)
	}
	if advanced != 12*time.Second {
		t.Errorf("the clock advanced %v, want 12s", advanced)
	}
	if s := steps(plan); len(s[0].sends) != 3 || len(s[1].verifies) != 1 || s[1].at != time.Second {
		t.Errorf("steps: %+v", s[:2])
	}
}
