// Command pumping runs the SMS-pumping guard's scenarios
// (internal/pumpsim) against a real Caddy binary built with phone_otp,
// each on a fresh Caddy with fresh storage and the guard's defaults in
// compressed time (pumpsim.TimeOptions: the defaults thirty times faster), in
// real time; and prints each scenario's figures and, at the end, the
// table docs/pumping.md gives. The SMS provider is the webhook one,
// pointed at a receiver in this program that keeps the last code texted
// to each number. bench/pumping.sh builds the binary and runs it.
//
//	go run ./bench/pumping -caddy /path/to/caddy -scenarios today,launch
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/internal/pumpsim"
)

// guardOff turns every pumping rule off, for the comparison.
const guardOff = "withhold_types none\nlimit_prefix off\nbreaker_sends off"

// sentOK is the answer to a send under pumpsim.TimeOptions (code_ttl 10s).
const sentOK = `{"channel":"sms","expires_in":10,"resend_after":30,"status":"sent"}`

func main() {
	bin := flag.String("caddy", "caddy", "the Caddy binary, built with phone_otp")
	extra := flag.String("options", "", "more phone_otp options, one per line (e.g. \"limit_prefix off\")")
	names := flag.String("scenarios", "all", "the scenarios to run, comma-separated: "+strings.Join(allNames(), ","))
	off := flag.Bool("guard-off", true, "with today: first run it with the guard off, for comparison")
	flag.Parse()
	var scs []pumpsim.Scenario
	if *names == "all" {
		scs = pumpsim.Scenarios()
	} else {
		for _, n := range strings.Split(*names, ",") {
			sc, ok := pumpsim.Find(strings.TrimSpace(n))
			if !ok {
				log.Fatalf("no scenario %q; there are %s", n, strings.Join(allNames(), ", "))
			}
			scs = append(scs, sc)
		}
	}
	var rows []pumpsim.Row
	for _, sc := range scs {
		if sc.Name == "today" && *off {
			// No rule that counts in time is on, so the pace changes
			// nothing: sent as fast as it goes.
			rows = append(rows, run(*bin, sc, "today, guard off", guardOff, false))
		}
		rows = append(rows, run(*bin, sc, sc.Name, *extra, true))
	}
	fmt.Printf("\n%s", pumpsim.Table(rows))
	for _, r := range rows {
		if r.Err != nil {
			os.Exit(1)
		}
	}
}

func allNames() []string {
	var out []string
	for _, sc := range pumpsim.Scenarios() {
		out = append(out, sc.Name)
	}
	return out
}

// run runs one scenario on a fresh Caddy and prints its figures.
func run(bin string, sc pumpsim.Scenario, label, options string, paced bool) pumpsim.Row {
	fmt.Printf("== %s: %s\n", label, sc.About)
	if options != "" {
		fmt.Printf("   options: %s\n", strings.ReplaceAll(options, "\n", "; "))
	}
	row := pumpsim.Row{Scenario: label}
	s, err := start(bin, strings.Join([]string{pumpsim.TimeOptions, sc.Options, options}, "\n"))
	if err != nil {
		row.Err = err
		fmt.Println(err)
		return row
	}
	defer s.stop()
	// A ceiling: the plan's length and two minutes for a slow machine.
	ctx, cancel := context.WithTimeout(context.Background(), sc.Duration()+2*time.Minute)
	defer cancel()
	row.Figures, row.Err = pumpsim.RunScenario(ctx, pumpsim.Config{
		URL: s.url, Cookie: "otp_session_challenge", SentOK: sentOK, RealTime: paced,
	}, s.rc, sc)
	fmt.Print(row.Figures.Report())
	if row.Err != nil {
		fmt.Printf("stopped: %v\n", row.Err)
	}
	row.Pauses, err = s.pauses()
	if err != nil {
		fmt.Printf("pauses: %v\n", err)
	}
	for _, p := range row.Pauses {
		fmt.Printf("paused: %s\n", p)
	}
	fmt.Println()
	return row
}

// site is a running Caddy with phone_otp and its provider's receiver.
type site struct {
	url, admin string
	rc         *receiver
	stop       func()
}

// start runs a Caddy with phone_otp and options on fresh storage, texting
// through the webhook provider to a fresh receiver.
func start(bin, options string) (*site, error) {
	work, err := os.MkdirTemp("", "phone_otp-pumping-")
	if err != nil {
		return nil, err
	}
	rc := &receiver{codes: map[string]string{}}
	hook, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(hook)
	cleanup := func() {
		srv.Close()
		os.RemoveAll(work)
	}
	sitePort, err1 := freePort()
	adminPort, err2 := freePort()
	if err := errors.Join(err1, err2); err != nil {
		cleanup()
		return nil, err
	}
	caddyfile := fmt.Sprintf(`{
	admin localhost:%d
	storage file_system %s
	servers {
		trusted_proxies static 127.0.0.1/8
	}
}
http://localhost:%d {
	phone_otp {
		sms webhook {
			url http://%s/hook
			body `+"`"+`{"to":"{phone}","text":"{message}"}`+"`"+`
			success 202
		}
		secret bench-secret-0123456789abcdef0123456789
		limit_global 100000
		%s
	}
	respond "app"
}
`, adminPort, filepath.Join(work, "storage"), sitePort, hook.Addr(), strings.ReplaceAll(strings.TrimSpace(options), "\n", "\n\t\t"))
	cf := filepath.Join(work, "Caddyfile")
	if err := os.WriteFile(cf, []byte(caddyfile), 0o600); err != nil {
		cleanup()
		return nil, err
	}
	logf, err := os.Create(filepath.Join(work, "caddy.log"))
	if err != nil {
		cleanup()
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", cf, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		cleanup()
		return nil, err
	}
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		logf.Close()
		cleanup()
	}
	s := &site{url: fmt.Sprintf("http://localhost:%d", sitePort), admin: fmt.Sprintf("http://localhost:%d", adminPort), rc: rc, stop: stop}
	if err := waitUp(s.url); err != nil {
		raw, _ := os.ReadFile(logf.Name())
		stop()
		return nil, fmt.Errorf("%w\n%s", err, raw)
	}
	return s, nil
}

// pauses are the pauses in force, as "prefix +44740010 (20 sends, 0
// verified)", with any other figure the admin API gives beside them.
func (s *site) pauses() ([]string, error) {
	resp, err := http.Get(s.admin + "/phone_otp/pauses")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct{ Pauses []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET /phone_otp/pauses: %s: %w", resp.Status, err)
	}
	var out []string
	for _, p := range body.Pauses {
		out = append(out, describePause(p))
	}
	return out, nil
}

// describePause is a pause as the table shows it: scope, key, and its
// counts (sends and verified first).
func describePause(p map[string]any) string {
	var counts []string
	for _, k := range []string{"sends", "verified"} {
		if v, ok := p[k]; ok {
			counts = append(counts, fmt.Sprintf("%v %s", v, k))
		}
	}
	var rest []string
	for k, v := range p {
		if _, ok := v.(float64); ok && k != "sends" && k != "verified" && k != "retry_after" && k != "until" {
			rest = append(rest, fmt.Sprintf("%v %s", v, k))
		}
	}
	slices.Sort(rest)
	counts = append(counts, rest...)
	return fmt.Sprintf("%v %v (%s)", p["scope"], p["key"], strings.Join(counts, ", "))
}

// receiver is the webhook provider's far end: the last code per number.
type receiver struct {
	mu    sync.Mutex
	codes map[string]string
}

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
	rc.codes[m.To] = code[1]
	rc.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (rc *receiver) Code(phone string) (string, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	c, ok := rc.codes[phone]
	return c, ok
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitUp(url string) error {
	for range 100 {
		resp, err := http.Get(url + "/_otp/session")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("caddy does not answer at %s", url)
}
