package caddyotp_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// These helpers run Caddy as separate processes, built from ./cmd/caddy,
// so that several instances share nothing but what a real deployment
// shares: a Redis, a secret, maybe a storage folder.

// buildCaddy builds ./cmd/caddy into dir and returns the binary's path.
func buildCaddy(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "caddy")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/caddy")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/caddy: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// instance is one Caddy process serving http://localhost:<port>.
type instance struct {
	name      string
	port      int
	adminPort int // 0: admin off
	cmd       *exec.Cmd
	log       *syncBuffer // its stderr: Caddy's JSON log
	done      chan struct{}
}

// instanceConfig is what differs between instances.
type instanceConfig struct {
	storage string // Caddy storage folder
	otp     string // lines inside phone_otp { }
	dexURL  string
	appAddr string
	env     []string // more environment, NAME=value
	admin   bool     // serve Caddy's admin API on a free port
}

// startInstance runs a Caddy with the given config and waits until it
// serves. It is stopped at the end of t.
func startInstance(t *testing.T, bin, name string, c instanceConfig) *instance {
	t.Helper()
	dir := t.TempDir()
	in := &instance{name: name, port: freePort(t), log: &syncBuffer{}, done: make(chan struct{})}
	admin := "off"
	if c.admin {
		in.adminPort = freePort(t)
		admin = fmt.Sprintf("localhost:%d", in.adminPort)
	}
	// The site address has no port (http_port gives it), so that every
	// instance has the same Caddyfile, as behind a load balancer, and so
	// the same protection domain.
	caddyfile := fmt.Sprintf(`{
	admin %s
	http_port %d
	persist_config off
	storage file_system %s
	storage_check off
	storage_clean_interval off
	log {
		output stderr
		format json
		level INFO
	}
}
http://localhost {
	bind 127.0.0.1
	phone_otp {
		sms dexatel {
			api_key %s
			sender TestBrand
			template tpl-1
			endpoint %s
		}
		%s
	}
	reverse_proxy %s
}
`, admin, in.port, c.storage, fakegw.DexatelKey, c.dexURL, c.otp, c.appAddr)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	in.cmd = exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	in.cmd.Dir = dir
	in.cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	in.cmd.Env = append(in.cmd.Env, c.env...)
	in.cmd.Stdout = in.log
	in.cmd.Stderr = in.log
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		in.cmd.Wait()
		close(in.done)
	}()
	t.Cleanup(func() { in.stop(t) })

	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", in.addr(), 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return in
		}
		select {
		case <-in.done:
			t.Fatalf("caddy %s exited at start-up:\n%s", name, in.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy %s does not listen on %s:\n%s", name, in.addr(), in.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (in *instance) addr() string { return fmt.Sprintf("127.0.0.1:%d", in.port) }

func (in *instance) url(path string) string {
	return fmt.Sprintf("http://localhost:%d%s", in.port, path)
}

func (in *instance) stop(t *testing.T) {
	select {
	case <-in.done:
		return
	default:
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		in.cmd.Process.Kill()
		<-in.done
	}
	if t.Failed() {
		t.Logf("caddy %s log:\n%s", in.name, in.log.String())
	}
}

// adminCall sends a request to the instance's admin API and decodes the
// JSON answer.
func (in *instance) adminCall(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	r := adminAt(t, fmt.Sprintf("http://localhost:%d", in.adminPort), method, path, body)
	var out map[string]any
	if r.StatusCode != 200 || json.Unmarshal([]byte(r.body), &out) != nil {
		t.Fatalf("admin %s %s on %s: %d %s", method, path, in.name, r.StatusCode, r.body)
	}
	return out
}

// logLine is the part of a Caddy JSON log line the tests read.
type logLine struct {
	Level  string `json:"level"`
	Logger string `json:"logger"`
	Msg    string `json:"msg"`
	Error  string `json:"error"`
	raw    string
}

// logLines parses the instance's log so far; lines that are not JSON are
// returned with Level "raw", so that nothing printed goes unseen.
func (in *instance) logLines() []logLine {
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(in.log.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			l = logLine{Level: "raw", Msg: sc.Text()}
		}
		l.raw = sc.Text()
		out = append(out, l)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a process's output and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// with is b on instance in.
func (in *instance) with(b *browser) *at { return b.on(in.url("")) }
