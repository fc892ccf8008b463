// Package pumpsim is the SMS-pumping attack of issue 16, as a plan of
// requests and a driver that sends them to a running phone_otp and
// tallies what reached the provider. The integration test
// (integration_pumping_test.go) and bench/pumping run the same plan.
//
// The attack: 2,000 sends from 500 client addresses (each request names
// its own in X-Forwarded-For, to a Caddy that trusts the local proxy) to
// sequential numbers in three prefixes of one country (GB), and to
// premium-rate numbers, never verified; interleaved with 500 real
// visitors in five countries (GB among them, in other prefixes), each
// from an address of their own, of whom nine in ten type the code.
package pumpsim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// Req is one visitor's send, and for real visitors whether they type the
// code they get.
type Req struct {
	Phone  string
	IP     string
	Real   bool
	Verify bool
}

// AttackPrefixes are the pumped prefixes (numbers without their last four
// digits), all GB mobile ranges.
var AttackPrefixes = []string{"+44740010", "+44740011", "+44740020"}

// Premium is where the premium-rate numbers of the attack start.
const Premium = "+449012340000"

// Countries are the real visitors' countries; GB is also attacked.
var Countries = []string{"GB", "US", "DE", "FR", "IN"}

// Plan is the attack and the real visitors, interleaved: four attack sends,
// then one real visitor, over and over.
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
	real := realVisitors()
	var out []Req
	for i, a := range attack {
		out = append(out, a)
		if i%4 == 3 {
			out = append(out, real[i/4])
		}
	}
	return out
}

func premium(i int) string {
	return fmt.Sprintf("%s%04d", Premium[:len(Premium)-4], i)
}

// realVisitors are 100 visitors in each country, on random mobile numbers
// (a fixed seed: every run the same) outside the pumped prefixes.
func realVisitors() []Req {
	r := rand.New(rand.NewPCG(16, 16))
	starts := map[string]string{"GB": "+447", "US": "+1", "DE": "+4917", "FR": "+336", "IN": "+919"}
	lengths := map[string]int{"GB": 13, "US": 12, "DE": 14, "FR": 12, "IN": 13}
	seen := map[string]bool{}
	for _, p := range AttackPrefixes {
		seen[p] = true
	}
	var out []Req
	for ci := 0; len(out) < 500; {
		c := Countries[ci%len(Countries)]
		num := starts[c]
		for len(num) < lengths[c] {
			num += string(rune('0' + r.IntN(10)))
		}
		t := phone.Type(num)
		if _, err := phone.ParseE164(num); err != nil || (t != "mobile" && t != "fixed_line_or_mobile") ||
			phone.Region(num) != c || seen[num[:len(num)-4]] {
			continue
		}
		seen[num[:len(num)-4]] = true
		i := len(out)
		out = append(out, Req{Phone: num, IP: fmt.Sprintf("100.64.%d.%d", i/250, i%250+1), Real: true, Verify: i%10 != 9})
		ci++
	}
	return out
}

// Provider is what the driver asks the provider the site texts through.
type Provider interface {
	// Code is the code last texted to phone, and whether any was.
	Code(phone string) (string, bool)
}

// Config is where the driver sends the plan.
type Config struct {
	URL    string // the site, with phone_otp under /_otp
	Step   func() // optional: called after each request, to move a fake clock
	SentOK string // the body of a "sent" answer, compared whole
	Cookie string // the cookie a "sent" answer sets, and the only one
}

// Figures are what the run measured.
type Figures struct {
	AttackSends, AttackReached int
	RealSends, RealReached     int
	RealVerified, RealToVerify int
	Sent200, Other             int            // send answers: "200 sent" alike, or not
	OtherAnswers               map[string]int // status and body of the others
	ByCountry                  map[string][2]int
	Took                       time.Duration
}

// Run sends the plan to the site and counts.
func Run(ctx context.Context, cfg Config, prov Provider, plan []Req) (Figures, error) {
	f := Figures{OtherAnswers: map[string]int{}, ByCountry: map[string][2]int{}}
	start := time.Now()
	for _, q := range plan {
		c := client()
		before, had := prov.Code(q.Phone)
		status, body, cookies, err := post(ctx, c, cfg.URL+"/_otp/send", `{"phone":"`+q.Phone+`"}`, q.IP)
		if err != nil {
			return f, err
		}
		if status == 200 && strings.TrimSpace(body) == cfg.SentOK && slices.Equal(cookies, []string{cfg.Cookie}) {
			f.Sent200++
		} else {
			f.Other++
			f.OtherAnswers[fmt.Sprintf("%d %s %v", status, strings.TrimSpace(body), cookies)]++
		}
		code, got := prov.Code(q.Phone)
		reached := got && (!had || code != before)
		if !q.Real {
			f.AttackSends++
			if reached {
				f.AttackReached++
			}
		} else {
			country := phone.Region(q.Phone)
			bc := f.ByCountry[country]
			bc[0]++
			f.RealSends++
			if reached {
				f.RealReached++
				bc[1]++
			}
			f.ByCountry[country] = bc
			if q.Verify && reached {
				f.RealToVerify++
				status, body, _, err := post(ctx, c, cfg.URL+"/_otp/verify", `{"code":"`+code+`"}`, q.IP)
				if err != nil {
					return f, err
				}
				var v struct{ Status string }
				if status == 200 && json.Unmarshal([]byte(body), &v) == nil && v.Status == "verified" {
					f.RealVerified++
				}
			}
		}
		if cfg.Step != nil {
			cfg.Step()
		}
	}
	f.Took = time.Since(start)
	return f, nil
}

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: transport}
}

var transport = &http.Transport{MaxIdleConnsPerHost: 16}

// post sends body to url as from ip, and returns the answer's status,
// body and the names of the cookies it sets.
func post(ctx context.Context, c *http.Client, url, body, ip string) (int, string, []string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	var names []string
	for _, ck := range resp.Cookies() {
		names = append(names, ck.Name)
	}
	slices.Sort(names)
	return resp.StatusCode, string(raw), names, err
}

// Report is the figures as the README and docs/pumping.md give them.
func (f Figures) Report() string {
	pct := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pumping sends reaching the provider: %d of %d (%.1f%%)\n", f.AttackReached, f.AttackSends, pct(f.AttackReached, f.AttackSends))
	fmt.Fprintf(&b, "real visitors' sends reaching it:    %d of %d (%.1f%%)\n", f.RealReached, f.RealSends, pct(f.RealReached, f.RealSends))
	for _, c := range Countries {
		bc := f.ByCountry[c]
		fmt.Fprintf(&b, "  %s: %d of %d\n", c, bc[1], bc[0])
	}
	fmt.Fprintf(&b, "real visitors verified:              %d of %d who typed their code\n", f.RealVerified, f.RealToVerify)
	fmt.Fprintf(&b, "send answers \"200 sent\", alike:      %d of %d (others: %v)\n", f.Sent200, f.Sent200+f.Other, f.OtherAnswers)
	fmt.Fprintf(&b, "took %v\n", f.Took.Round(time.Millisecond))
	return b.String()
}
