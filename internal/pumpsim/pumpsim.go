// Package pumpsim is the SMS-pumping guard's bench: scenarios of timed
// requests (plans.go), a driver that sends them to a running phone_otp
// and tallies what reached the provider (this file), and the figures as
// docs/pumping.md gives them (report.go). The integration test
// (integration_pumping_test.go) and bench/pumping run the same plans.
//
// Every request names its own client in X-Forwarded-For, to a Caddy that
// trusts the local proxy; real visitors each have an address of their
// own, and nine in ten type their code; attackers never do, unless a
// scenario says so.
package pumpsim

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// TimeOptions are the phone_otp options every plan's times assume: time
// runs thirty times faster than at the defaults, keeping their ratios (a
// code's 5m is 10s, a breaker "hour" is Window, a 12h pause 24m), and
// codes expire within the run, so that a
// scenario of several breaker windows runs in a few minutes of real time
// and the guard sees sends that had their chance (verified, or expired
// unverified). A test with a fake clock sets the same options and steps
// its clock through the plan (Config.Advance).
const TimeOptions = "code_ttl 10s\nbreaker_window 2m\npause_for 24m"

// Window is a breaker "hour" in the time of TimeOptions.
const Window = 2 * time.Minute

// Req is one send, when it is sent, and whether the code is typed.
type Req struct {
	// At is when the send goes, from the start of the plan, in the time of
	// TimeOptions.
	At time.Duration
	// Burst: consecutive Burst sends with the same At go together,
	// concurrently (a launch: many visitors in the same second).
	Burst bool
	Phone string
	IP    string
	Real  bool
	// Verify: a real visitor types the code, if it reaches them.
	Verify bool
	// VerifyAt is when they type it, if later than right after the send
	// (a burst of visitors who all ask before any of them types).
	VerifyAt time.Duration
	// Tag is a group of real visitors the figures count apart
	// ("victim prefix"); "": none.
	Tag string
}

// Scenario is a named plan and how its attacker behaves.
type Scenario struct {
	Name  string
	About string // its shape, in a line
	Plan  []Req
	// AttackVerifies: the attacker types one in AttackVerifies of the
	// codes that reach it (numbers it controls); 0: never.
	AttackVerifies int
	// Options are the phone_otp options the scenario needs beyond
	// TimeOptions and a limit_global above its volume, one per line.
	Options string
}

// Duration is how long the plan runs, up to its last send or code typed.
func (s Scenario) Duration() time.Duration {
	var d time.Duration
	for _, q := range s.Plan {
		d = max(d, q.At, q.VerifyAt)
	}
	return d
}

// Provider is what the driver asks the provider the site texts through.
type Provider interface {
	// Code is the code last texted to phone, and whether any was.
	Code(phone string) (string, bool)
}

// Config is where the driver sends the plan, and how it keeps the plan's
// time. With neither RealTime nor Advance it sends as fast as it can,
// in the plan's order.
type Config struct {
	URL    string // the site, with phone_otp under /_otp
	Step   func() // optional: called after each send, to move a fake clock
	SentOK string // the body of a "sent" answer, compared whole
	Cookie string // the cookie a "sent" answer sets, and the only one
	// RealTime: sleep until each request's At (a real Caddy).
	RealTime bool
	// Advance, if set, is called with the time from one request's At to
	// the next, to step a fake clock instead of sleeping.
	Advance func(time.Duration)
}

// step is what happens at one moment of a plan: a batch of sends (sent
// together), or the codes a burst types later.
type step struct {
	at       time.Duration
	sends    []int // indexes in the plan
	verifies []int
}

// steps orders a plan: consecutive Burst sends with the same At make one batch;
// deferred codes are typed at their VerifyAt, after sends of that moment.
func steps(plan []Req) []step {
	var out []step
	for i, q := range plan {
		if n := len(out); n > 0 && q.Burst && plan[i-1].Burst && plan[i-1].At == q.At {
			out[n-1].sends = append(out[n-1].sends, i)
		} else {
			out = append(out, step{at: q.At, sends: []int{i}})
		}
	}
	var later []step
	for i, q := range plan {
		if q.Real && q.Verify && q.VerifyAt > q.At {
			later = append(later, step{at: q.VerifyAt, verifies: []int{i}})
		}
	}
	out = append(out, later...)
	slices.SortStableFunc(out, func(a, b step) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return len(a.verifies) - len(b.verifies) // sends first
	})
	return out
}

// runner is one run's state: the figures, and each deferred code with the
// browser that asked for it.
type runner struct {
	cfg  Config
	prov Provider
	sc   Scenario

	mu       sync.Mutex
	f        Figures
	deferred map[int]later
}

type later struct {
	c    *http.Client
	code string
}

// Run sends the plan to the site and counts.
func Run(ctx context.Context, cfg Config, prov Provider, plan []Req) (Figures, error) {
	return RunScenario(ctx, cfg, prov, Scenario{Plan: plan})
}

// RunScenario sends the scenario's plan to the site, keeping its time as
// cfg says, and counts.
func RunScenario(ctx context.Context, cfg Config, prov Provider, sc Scenario) (Figures, error) {
	// Connections kept alive from an earlier run may be to a server that
	// a config reload has since closed: a request on one fails with EOF.
	transport.CloseIdleConnections()
	r := &runner{cfg: cfg, prov: prov, sc: sc, deferred: map[int]later{},
		f: Figures{OtherAnswers: map[string]int{}, ByCountry: map[string][2]int{}, ByTag: map[string][2]int{}}}
	start := time.Now()
	var now time.Duration // the plan's clock, under Advance
	for _, s := range steps(sc.Plan) {
		switch {
		case cfg.Advance != nil:
			if s.at > now {
				cfg.Advance(s.at - now)
				now = s.at
			}
		case cfg.RealTime:
			if d := time.Until(start.Add(s.at)); d > 0 {
				select {
				case <-ctx.Done():
					return r.f, ctx.Err()
				case <-time.After(d):
				}
			} else {
				r.f.Late = max(r.f.Late, -d)
			}
		}
		if err := r.do(ctx, s); err != nil {
			return r.f, err
		}
	}
	r.f.Took = time.Since(start)
	return r.f, nil
}

// do runs one step: its sends together, or its deferred codes in turn.
func (r *runner) do(ctx context.Context, s step) error {
	for _, i := range s.verifies {
		r.mu.Lock()
		l, ok := r.deferred[i]
		r.mu.Unlock()
		if !ok {
			continue // the code never reached the visitor
		}
		if err := r.verify(ctx, l.c, l.code, r.sc.Plan[i]); err != nil {
			return err
		}
	}
	if len(s.sends) == 1 {
		if err := r.send(ctx, s.sends[0]); err != nil {
			return err
		}
	} else if len(s.sends) > 1 {
		errs := make(chan error, len(s.sends))
		for _, i := range s.sends {
			go func() { errs <- r.send(ctx, i) }()
		}
		var first error
		for range s.sends {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		if first != nil {
			return first
		}
	}
	if r.cfg.Step != nil {
		for range s.sends {
			r.cfg.Step()
		}
	}
	return nil
}

// send sends plan[i], counts its answer and whether its code reached the
// provider, and types the code if the sender does so now.
func (r *runner) send(ctx context.Context, i int) error {
	q := r.sc.Plan[i]
	c := client()
	before, had := r.prov.Code(q.Phone)
	status, body, cookies, err := post(ctx, c, r.cfg.URL+"/_otp/send", `{"phone":"`+q.Phone+`"}`, q.IP)
	if err != nil {
		return err
	}
	code, got := r.prov.Code(q.Phone)
	reached := got && (!had || code != before)

	r.mu.Lock()
	f := &r.f
	if status == 200 && strings.TrimSpace(body) == r.cfg.SentOK && slices.Equal(cookies, []string{r.cfg.Cookie}) {
		f.Sent200++
	} else {
		f.Other++
		f.OtherAnswers[fmt.Sprintf("%d %s %v", status, strings.TrimSpace(body), cookies)]++
	}
	typeNow := false
	if !q.Real {
		f.AttackSends++
		if reached {
			f.AttackReached++
			typeNow = r.sc.AttackVerifies > 0 && f.AttackReached%r.sc.AttackVerifies == 0
			if typeNow {
				f.AttackToVerify++
			}
		}
	} else {
		tally(f.ByCountry, phone.Region(q.Phone), reached)
		if q.Tag != "" {
			tally(f.ByTag, q.Tag, reached)
		}
		f.RealSends++
		if reached {
			f.RealReached++
			if q.Verify {
				f.RealToVerify++
				if q.VerifyAt > q.At {
					r.deferred[i] = later{c, code}
				} else {
					typeNow = true
				}
			}
		}
	}
	r.mu.Unlock()
	if typeNow {
		return r.verify(ctx, c, code, q)
	}
	return nil
}

func tally(m map[string][2]int, key string, reached bool) {
	n := m[key]
	n[0]++
	if reached {
		n[1]++
	}
	m[key] = n
}

// verify types code in the browser c that asked for it, and counts it.
func (r *runner) verify(ctx context.Context, c *http.Client, code string, q Req) error {
	status, body, _, err := post(ctx, c, r.cfg.URL+"/_otp/verify", `{"code":"`+code+`"}`, q.IP)
	if err != nil {
		return err
	}
	var v struct{ Status string }
	if status != 200 || json.Unmarshal([]byte(body), &v) != nil || v.Status != "verified" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if q.Real {
		r.f.RealVerified++
	} else {
		r.f.AttackVerified++
	}
	return nil
}

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: transport}
}

var transport = &http.Transport{MaxIdleConnsPerHost: 64}

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
