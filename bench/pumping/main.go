// Command pumping runs the SMS-pumping attack of issue 16
// (internal/pumpsim) against a real Caddy binary built with phone_otp,
// with the guard's defaults, and prints the figures docs/pumping.md gives.
// The SMS provider is the webhook one, pointed at a receiver in this
// program that keeps the last code texted to each number. bench/pumping.sh
// builds the binary and runs it.
//
//	go run ./bench/pumping -caddy /path/to/caddy
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/internal/pumpsim"
)

func main() {
	bin := flag.String("caddy", "caddy", "the Caddy binary, built with phone_otp")
	extra := flag.String("options", "", "more phone_otp options, one per line (e.g. \"limit_prefix off\")")
	flag.Parse()
	if err := run(*bin, *extra); err != nil {
		log.Fatal(err)
	}
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

func run(bin, extra string) error {
	work, err := os.MkdirTemp("", "phone_otp-pumping-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	rc := &receiver{codes: map[string]string{}}
	hook, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(hook, rc)
	site, err := freePort()
	if err != nil {
		return err
	}
	adminPort, err := freePort()
	if err != nil {
		return err
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
`, adminPort, filepath.Join(work, "storage"), site, hook.Addr(), extra)
	cf := filepath.Join(work, "Caddyfile")
	if err := os.WriteFile(cf, []byte(caddyfile), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(bin, "run", "--config", cf, "--adapter", "caddyfile")
	logf, err := os.Create(filepath.Join(work, "caddy.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	url := fmt.Sprintf("http://localhost:%d", site)
	if err := waitUp(url); err != nil {
		raw, _ := os.ReadFile(logf.Name())
		return fmt.Errorf("%w\n%s", err, raw)
	}

	f, err := pumpsim.Run(context.Background(), pumpsim.Config{
		URL: url, Cookie: "otp_session_challenge",
		SentOK: `{"channel":"sms","expires_in":300,"resend_after":30,"status":"sent"}`,
	}, rc, pumpsim.Plan())
	if err != nil {
		return err
	}
	fmt.Print(f.Report())
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/phone_otp/pauses", adminPort))
	if err == nil {
		var body struct {
			Pauses []struct {
				Scope, Key      string
				Sends, Verified int64
			}
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		for _, p := range body.Pauses {
			fmt.Printf("paused: %s %s (%d sends, %d verified)\n", p.Scope, p.Key, p.Sends, p.Verified)
		}
	}
	return nil
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
