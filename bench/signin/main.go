// Command signin drives a login storm at phone_otp sites in a running
// Caddy, for bench/signin.sh (MODE=signin bench/run.sh): many visitors at
// once, each signing in over and over as a browser's script would: POST
// {prefix}/send with a new phone number, the code from the SMS provider,
// POST {prefix}/verify, and the session cookie checked. The provider is
// phone_otp's webhook one, pointed at this program's own listener, which
// takes each message at once and hands its code to the visitor waiting
// for it.
//
// Each visitor has a client IP of its own (X-Forwarded-For, which the
// script's Caddy trusts from 127.0.0.1) and prefixes of its own (a number
// without its last four digits, the SMS-pumping guard's unit), in a
// country of its own among several, and a new valid mobile number for
// each sign-in, so that the limits and the guard judge every send as
// they would real traffic's. Any send or verify refused, and any code
// that never reaches the provider (a send withheld), fails the run with
// the answer.
//
// With -soak, instead, a steady mix for that long per site, with Caddy's
// RSS, heap and goroutines sampled (soak.go).
//
// The sites run in paired rounds, their order rotated each round; then,
// per site, a counted phase: n sends, then their n verifies, with Redis's
// commands (INFO commandstats) and Caddy's store round trips
// (caddy_phone_otp_store_round_trips_total on the admin endpoint's
// /metrics, n/a where it is absent) read before, between and after.
//
//	go run ./bench/signin -sites memory=http://127.0.0.1:18088,redis=http://127.0.0.1:18089 \
//		-hook 127.0.0.1:18095 -redis 127.0.0.1:18379 -admin 127.0.0.1:18019
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	sitesFlag := flag.String("sites", "", "the sites, name=URL,… (e.g. memory=http://127.0.0.1:18088)")
	hook := flag.String("hook", "127.0.0.1:18095", "where the webhook provider posts")
	redisAddr := flag.String("redis", "", "the Redis the sites use, for INFO commandstats (none: no Redis figures)")
	admin := flag.String("admin", "", "Caddy's admin address, for /metrics (none: no round-trip figures)")
	conns := flag.Int("conns", 64, "visitors at once")
	dur := flag.Duration("dur", 3*time.Second, "how long a round lasts")
	rounds := flag.Int("rounds", 5, "rounds (every site once a round)")
	counted := flag.Int("counted", 256, "sign-ins in each site's counted phase")
	prefix := flag.String("prefix", "/_otp", "phone_otp's prefix")
	cookie := flag.String("cookie", "otp_session", "the session cookie's name")
	command := flag.String("command", "", "the command line to print in the report's header")
	caddyPID := flag.Int("caddy-pid", 0, "Caddy's process id, for its CPU time per sign-in (0: none)")
	hz := flag.Int("hz", 100, "clock ticks a second in /proc/PID/stat (getconf CLK_TCK)")
	soakFor := flag.Duration("soak", 0, "instead of the storm, a soak of this long per site: sign-ins, authenticated GETs, logouts, admin revokes (see soak.go)")
	sampleEvery := flag.Duration("sample", 30*time.Second, "with -soak, how often to print a sample")
	warmup := flag.Duration("warmup", time.Minute, "with -soak, the samples before this are the warm-up (at most a quarter of -soak)")
	flag.Parse()
	sites, err := parseSites(*sitesFlag)
	if err != nil || *conns < 1 || *rounds < 1 || *counted < 1 {
		log.Fatalf("signin: -sites name=URL,… and positive -conns, -rounds, -counted are needed (%v)", err)
	}

	rc := newReceiver()
	ln, err := net.Listen("tcp", *hook)
	if err != nil {
		log.Fatalf("signin: the webhook listener: %v", err)
	}
	go (&http.Server{Handler: rc}).Serve(ln)

	b := &bench{
		rc: rc, prefix: *prefix, cookie: *cookie, admin: *admin, caddyPID: *caddyPID, hz: *hz,
		visitors: newVisitors(*conns),
		transport: &http.Transport{
			MaxIdleConns: 4 * *conns, MaxIdleConnsPerHost: 2 * *conns, IdleConnTimeout: time.Minute,
		},
	}
	if *redisAddr != "" {
		b.rdb = redis.NewClient(&redis.Options{Addr: *redisAddr})
	}

	if *soakFor > 0 {
		if *command != "" {
			fmt.Println("# " + *command)
		}
		for _, s := range sites {
			b.storm(s, time.Second) // connections open, code paths warm, refusals shown
			b.soak(s, *soakFor, *sampleEvery, min(*warmup, *soakFor/4))
		}
		return
	}

	// A short storm per site first: connections open, code paths warm,
	// and any refusal shows before the measured rounds.
	for _, s := range sites {
		b.storm(s, time.Second)
	}
	res := map[string][]roundResult{}
	for r := range *rounds {
		for i := range sites {
			s := sites[(i+r)%len(sites)]
			res[s.name] = append(res[s.name], b.measured(s, *dur))
		}
		fmt.Fprintf(os.Stderr, "round %d done\n", r+1)
	}
	cnt := map[string]countResult{}
	for _, s := range sites {
		cnt[s.name] = b.countedPhase(s, *counted)
	}
	report(os.Stdout, *command, sites, *conns, *dur, *rounds, *counted, res, cnt)
}

// site is one phone_otp site under test.
type site struct{ name, url string }

func parseSites(s string) ([]site, error) {
	var out []site
	for _, kv := range strings.Split(s, ",") {
		name, u, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || name == "" || u == "" {
			return nil, fmt.Errorf("bad site %q", kv)
		}
		out = append(out, site{name, strings.TrimSuffix(u, "/")})
	}
	return out, nil
}

// bench holds what every storm shares.
type bench struct {
	rc        *receiver
	visitors  []*visitor
	transport *http.Transport
	rdb       *redis.Client
	admin     string
	prefix    string
	cookie    string
	caddyPID  int
	hz        int
}

// roundResult is one site's round: sign-ins completed, how long the round
// took until its last sign-in ended, the latencies, and what the stores
// did meanwhile.
type roundResult struct {
	signins        int
	secs           float64
	send, verify   []time.Duration
	cmds           map[string]int64
	trips          int64
	tripsAvailable bool
	caddyCPU       float64 // seconds; 0 without -caddy-pid
}

// measured runs one storm of d with the store figures and Caddy's CPU
// time read around it.
func (b *bench) measured(s site, d time.Duration) roundResult {
	before, cpu0 := b.snapshot(), b.cpu()
	r := b.storm(s, d)
	after, cpu1 := b.snapshot(), b.cpu()
	r.cmds, r.trips, r.tripsAvailable = after.minus(before)
	r.caddyCPU = cpu1 - cpu0
	return r
}

// storm has every visitor sign in over and over until d is over; a
// sign-in started before the end is finished and counted.
func (b *bench) storm(s site, d time.Duration) roundResult {
	var (
		mu  sync.Mutex
		res roundResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for _, v := range b.visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var send, verify []time.Duration
			for time.Now().Before(deadline) {
				c, ph, ts := b.send(s, v)
				tv := b.verify(s, v, c, ph)
				send, verify = append(send, ts), append(verify, tv)
			}
			mu.Lock()
			res.send = append(res.send, send...)
			res.verify = append(res.verify, verify...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.secs = time.Since(start).Seconds()
	res.signins = len(res.verify)
	return res
}

// countResult is one site's counted phase: what the stores did for n
// sends, and for their n verifies.
type countResult struct {
	n                      int
	sendCmds, verifyCmds   map[string]int64
	sendTrips, verifyTrips int64
	tripsAvailable         bool
}

// countedPhase makes n sends (the visitors sharing them out), then their
// n verifies, reading the store figures before, between and after.
func (b *bench) countedPhase(s site, n int) countResult {
	type pending struct {
		c     *http.Client
		phone string
		v     *visitor
	}
	per := make([][]pending, len(b.visitors))
	each := func(fn func(i int)) {
		var wg sync.WaitGroup
		for i := range b.visitors {
			wg.Add(1)
			go func() { defer wg.Done(); fn(i) }()
		}
		wg.Wait()
	}
	s0 := b.snapshot()
	each(func(i int) {
		v := b.visitors[i]
		for k := i; k < n; k += len(b.visitors) {
			c, ph, _ := b.send(s, v)
			per[i] = append(per[i], pending{c, ph, v})
		}
	})
	s1 := b.snapshot()
	each(func(i int) {
		for _, p := range per[i] {
			b.verify(s, p.v, p.c, p.phone)
		}
	})
	s2 := b.snapshot()
	r := countResult{n: n}
	var a1, a2 bool
	r.sendCmds, r.sendTrips, a1 = s1.minus(s0)
	r.verifyCmds, r.verifyTrips, a2 = s2.minus(s1)
	r.tripsAvailable = a1 && a2
	return r
}

// send asks s for a code to v's next number, as v, and waits for the code
// to reach the provider. It returns the visitor's client (its cookie jar
// holds the challenge), the number, and how long the send's answer took.
// Anything but a code sent fails the run.
func (b *bench) send(s site, v *visitor) (*http.Client, string, time.Duration) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: b.transport, Timeout: 10 * time.Second}
	ph := v.next()
	code := b.rc.expect(ph)
	defer b.rc.forget(ph)
	t0 := time.Now()
	st, body, _ := b.post(c, s, v, "/send", `{"phone":"`+ph+`"}`)
	took := time.Since(t0)
	if st != http.StatusOK || !strings.Contains(body, `"status":"sent"`) {
		fail("%s: send to %s from %s answered %d: %s", s.name, ph, v.ip, st, body)
	}
	select {
	case got := <-code:
		v.codes[ph] = got
	case <-time.After(5 * time.Second):
		fail("%s: send to %s from %s answered %d %s, but no code reached the provider in 5s (withheld?)", s.name, ph, v.ip, st, body)
	}
	return c, ph, took
}

// verify posts the code texted to ph with v's client, and checks that it
// set the session cookie. It returns how long the answer took.
func (b *bench) verify(s site, v *visitor, c *http.Client, ph string) time.Duration {
	code := v.codes[ph]
	delete(v.codes, ph)
	t0 := time.Now()
	st, body, cookies := b.post(c, s, v, "/verify", `{"code":"`+code+`"}`)
	took := time.Since(t0)
	if st != http.StatusOK || !strings.Contains(body, `"status":"verified"`) {
		fail("%s: verify for %s from %s answered %d: %s", s.name, ph, v.ip, st, body)
	}
	if !slices.ContainsFunc(cookies, func(ck *http.Cookie) bool { return ck.Name == b.cookie && ck.Value != "" }) {
		fail("%s: verify for %s answered %d with no %s cookie: %s", s.name, ph, st, b.cookie, body)
	}
	return took
}

// post sends a JSON body as a browser's script on the site's own page
// would (Origin the site's), from v's client IP.
func (b *bench) post(c *http.Client, s site, v *visitor, path, body string) (int, string, []*http.Cookie) {
	req, err := http.NewRequest(http.MethodPost, s.url+b.prefix+path, strings.NewReader(body))
	if err != nil {
		fail("%s: %v", s.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.url)
	req.Header.Set("X-Forwarded-For", v.ip)
	resp, err := c.Do(req)
	if err != nil {
		fail("%s: POST %s: %v", s.name, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		fail("%s: POST %s: %v", s.name, path, err)
	}
	return resp.StatusCode, string(raw), resp.Cookies()
}

// receiver is the webhook provider's far end: it hands each code to the
// visitor waiting for its number, and answers 200 at once.
type receiver struct {
	mu      sync.Mutex
	waiting map[string]chan string
}

func newReceiver() *receiver { return &receiver{waiting: map[string]chan string{}} }

// codeRE finds the code in phone_otp's message, whose last line is
// "@host #code" (origin-bound codes).
var codeRE = regexp.MustCompile(`#(\d+)\s*$`)

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m struct{ To, Text string }
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	code := codeRE.FindStringSubmatch(m.Text)
	if code == nil {
		http.Error(w, "no code in the text", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	ch := rc.waiting[m.To]
	rc.mu.Unlock()
	if ch == nil {
		fail("the provider got a code for %s, which no visitor is waiting for", m.To)
	}
	select {
	case ch <- code[1]:
	default:
		fail("the provider got a second code for %s", m.To)
	}
	w.WriteHeader(http.StatusOK)
}

// expect registers ph's visitor as waiting for its code.
func (rc *receiver) expect(ph string) <-chan string {
	ch := make(chan string, 1)
	rc.mu.Lock()
	rc.waiting[ph] = ch
	rc.mu.Unlock()
	return ch
}

func (rc *receiver) forget(ph string) {
	rc.mu.Lock()
	delete(rc.waiting, ph)
	rc.mu.Unlock()
}

var failOnce sync.Once

// fail prints why the bench cannot go on and ends it: a refused sign-in
// is a broken bench, not a figure.
func fail(format string, args ...any) {
	failOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "signin: FAILED: "+format+"\n", args...)
		os.Exit(1)
	})
	select {} // another goroutine is exiting
}
