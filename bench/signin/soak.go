package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The soak (-soak DURATION, for bench/soak.sh: MODE=soak bench/run.sh): for
// DURATION per site, every visitor runs a steady mix: sign in (send, the
// code, verify), then getsPerSignin authenticated GETs with the session;
// every logoutEvery-th sign-in of a visitor ends with a logout (POST
// {prefix}/logout, then the old session must get 401), and every
// revokeEvery-th with an admin revoke of the phone (POST /phone_otp/revoke
// on Caddy's admin endpoint, then the session must get 401 within
// revokeWithin). Every sample interval it prints a line: sign-ins/s, the
// p99s, and Caddy's RSS, Go heap and goroutines; at the end, per site,
// the first sample after the warm-up against the last.
const (
	getsPerSignin = 5
	logoutEvery   = 4
	revokeEvery   = 25
	revokeWithin  = 3 * time.Second
)

// window is what the visitors did since the last sample.
type window struct {
	mu               sync.Mutex
	signins          int
	logouts, revokes int
	get, signin      []time.Duration
}

func (w *window) take() (int, int, int, []time.Duration, []time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, l, r, g, si := w.signins, w.logouts, w.revokes, w.get, w.signin
	w.signins, w.logouts, w.revokes, w.get, w.signin = 0, 0, 0, nil, nil
	return s, l, r, g, si
}

// sample is one line of the soak's report.
type sample struct {
	elapsed           time.Duration
	rate              float64 // sign-ins/s
	getP99, signinP99 float64 // ms
	logouts, revokes  int
	rssKB             int64
	heapMB            float64
	goroutines        int
}

// soak runs the mix at s for d, printing a sample every interval, and
// then the start (first sample at or after warmup) against the end.
func (b *bench) soak(s site, d, interval, warmup time.Duration) {
	var (
		w    window
		wg   sync.WaitGroup
		stop = make(chan struct{})
	)
	start := time.Now()
	deadline := start.Add(d)
	plain := &http.Client{Transport: b.transport, Timeout: 10 * time.Second}
	for i, v := range b.visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := i; time.Now().Before(deadline); k++ {
				t0 := time.Now()
				c, ph, _ := b.send(s, v)
				b.verify(s, v, c, ph)
				took := time.Since(t0)
				tok := b.sessionOf(c, s)
				var gets []time.Duration
				for range getsPerSignin {
					st, tg := b.get(plain, s, v, tok)
					if st != http.StatusOK {
						fail("%s: GET / with the session of %s answered %d", s.name, ph, st)
					}
					gets = append(gets, tg)
				}
				logout, revoke := k%logoutEvery == logoutEvery-1, k%revokeEvery == revokeEvery-1
				switch {
				case revoke && b.admin != "":
					b.revoke(s, ph)
					until := time.Now().Add(revokeWithin)
					for {
						st, _ := b.get(plain, s, v, tok)
						if st == http.StatusUnauthorized {
							break
						}
						if time.Now().After(until) {
							fail("%s: the session of %s still answered %d %s after its admin revoke", s.name, ph, st, revokeWithin)
						}
						time.Sleep(50 * time.Millisecond)
					}
				case logout:
					st, body, _ := b.post(c, s, v, "/logout", `{}`)
					if st != http.StatusOK || !strings.Contains(body, `"status":"logged_out"`) {
						fail("%s: logout of %s answered %d: %s", s.name, ph, st, body)
					}
					if st, _ := b.get(plain, s, v, tok); st != http.StatusUnauthorized {
						fail("%s: the session of %s answered %d after its logout, not 401", s.name, ph, st)
					}
				}
				w.mu.Lock()
				w.signins++
				w.signin = append(w.signin, took)
				w.get = append(w.get, gets...)
				if revoke && b.admin != "" {
					w.revokes++
				} else if logout {
					w.logouts++
				}
				w.mu.Unlock()
			}
		}()
	}

	var samples []sample
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := start
		tick := time.NewTicker(interval)
		defer tick.Stop()
		fmt.Printf("%-7s %8s %10s %12s %14s %8s %8s %9s %8s %10s\n",
			"site", "elapsed", "signins/s", "get_p99_ms", "signin_p99_ms", "logouts", "revokes", "rss_MB", "heap_MB", "goroutines")
		for {
			var now time.Time
			select {
			case now = <-tick.C:
			case <-stop:
				// The sign-ins past the deadline: a sample of their own
				// only if they made half an interval.
				if now = time.Now(); now.Sub(last) < interval/2 {
					return
				}
			}
			n, lo, rv, g, si := w.take()
			sm := sample{
				elapsed: now.Sub(start).Round(time.Second), rate: float64(n) / now.Sub(last).Seconds(),
				getP99: ms(percentile(g, 0.99)), signinP99: ms(percentile(si, 0.99)), logouts: lo, revokes: rv,
			}
			last = now
			sm.rssKB, sm.heapMB, sm.goroutines = b.caddyMemory()
			samples = append(samples, sm)
			fmt.Printf("%-7s %8s %10.1f %12.2f %14.2f %8d %8d %9.1f %8.1f %10d\n",
				s.name, sm.elapsed, sm.rate, sm.getP99, sm.signinP99, sm.logouts, sm.revokes,
				float64(sm.rssKB)/1024, sm.heapMB, sm.goroutines)
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	wg.Wait()
	// The last sign-ins ran past the deadline; the last sample is taken
	// when they are done, unless a tick took it just now.
	close(stop)
	<-done
	if b.admin == "" {
		fmt.Fprintln(os.Stderr, "soak: no -admin: no admin revokes, and no heap or goroutine figures")
	}
	soakSummary(s.name, samples, warmup)
}

// soakSummary prints the first sample at or after warmup against the
// last, with the ratios end/start.
func soakSummary(name string, samples []sample, warmup time.Duration) {
	if len(samples) == 0 {
		return
	}
	first := samples[len(samples)-1]
	for _, sm := range samples {
		if sm.elapsed >= warmup {
			first = sm
			break
		}
	}
	end := samples[len(samples)-1]
	ratio := func(a, b float64) string {
		if a == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2fx", b/a)
	}
	fmt.Printf("\n%s: start (at %s, after a %s warm-up) vs end (at %s)\n", name, first.elapsed, warmup, end.elapsed)
	fmt.Printf("  %-14s %10s %10s %7s\n", "", "start", "end", "ratio")
	for _, row := range []struct {
		what string
		a, b float64
		prec int
	}{
		{"rss_MB", float64(first.rssKB) / 1024, float64(end.rssKB) / 1024, 1},
		{"heap_MB", first.heapMB, end.heapMB, 1},
		{"goroutines", float64(first.goroutines), float64(end.goroutines), 0},
		{"get_p99_ms", first.getP99, end.getP99, 2},
		{"signin_p99_ms", first.signinP99, end.signinP99, 2},
		{"signins/s", first.rate, end.rate, 1},
	} {
		fmt.Printf("  %-14s %10.*f %10.*f %7s\n", row.what, row.prec, row.a, row.prec, row.b, ratio(row.a, row.b))
	}
	fmt.Println()
}

// sessionOf is the session cookie's value in c's jar after a verify.
func (b *bench) sessionOf(c *http.Client, s site) string {
	u, _ := url.Parse(s.url)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == b.cookie && ck.Value != "" {
			return ck.Value
		}
	}
	fail("%s: no %s cookie in the jar after a verify", s.name, b.cookie)
	return ""
}

// get is an authenticated GET / with the session tok (as an API client
// would: Accept JSON, so that no session is a 401, not the sign-in page).
func (b *bench) get(c *http.Client, s site, v *visitor, tok string) (int, time.Duration) {
	req, err := http.NewRequest(http.MethodGet, s.url+"/", nil)
	if err != nil {
		fail("%s: %v", s.name, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", b.cookie+"="+tok)
	req.Header.Set("X-Forwarded-For", v.ip)
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		fail("%s: GET /: %v", s.name, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(t0)
}

// revoke signs ph out everywhere through Caddy's admin API (issuer
// phone_otp: every bench site has the default issuer).
func (b *bench) revoke(s site, ph string) {
	resp, err := http.Post("http://"+b.admin+"/phone_otp/revoke", "application/json",
		strings.NewReader(`{"phone":"`+ph+`","issuer":"phone_otp"}`))
	if err != nil {
		fail("%s: admin revoke: %v", s.name, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"status":"revoked"`) {
		fail("%s: admin revoke of %s answered %d: %s", s.name, ph, resp.StatusCode, raw)
	}
}

// caddyMemory is Caddy's RSS (VmRSS, kB; 0 without -caddy-pid), Go heap
// (memstats HeapAlloc on the admin endpoint's /debug/vars, MB) and
// goroutines (the total on /debug/pprof/goroutine?debug=1's first line);
// 0 for those without -admin.
func (b *bench) caddyMemory() (rssKB int64, heapMB float64, goroutines int) {
	if b.caddyPID != 0 {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.caddyPID))
		if err != nil {
			fail("Caddy's RSS: %v", err)
		}
		rssKB = vmRSS(string(raw))
	}
	if b.admin == "" {
		return rssKB, 0, 0
	}
	raw := adminGet(b.admin, "/debug/vars")
	var vars struct {
		Memstats struct{ HeapAlloc uint64 } `json:"memstats"`
	}
	if err := json.Unmarshal(raw, &vars); err != nil {
		fail("Caddy's /debug/vars: %v", err)
	}
	heapMB = float64(vars.Memstats.HeapAlloc) / (1 << 20)
	goroutines = goroutineTotal(string(adminGet(b.admin, "/debug/pprof/goroutine?debug=1")))
	return rssKB, heapMB, goroutines
}

func adminGet(admin, path string) []byte {
	resp, err := http.Get("http://" + admin + path)
	if err != nil {
		fail("Caddy's admin %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		fail("Caddy's admin %s answered %d: %v %.200s", path, resp.StatusCode, err, raw)
	}
	return raw
}

// vmRSS is the VmRSS line's kB in /proc/PID/status, or 0.
func vmRSS(status string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// goroutineTotal reads "goroutine profile: total N" on the first line of
// a debug=1 goroutine profile, or 0.
func goroutineTotal(profile string) int {
	first, _, _ := strings.Cut(profile, "\n")
	_, n, ok := strings.Cut(first, "total ")
	if !ok {
		return 0
	}
	v, _ := strconv.Atoi(strings.TrimSpace(n))
	return v
}
