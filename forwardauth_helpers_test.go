package caddyotp_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The forward-auth tests' outside world: Debian's nginx, run with the
// docs' config, and the app behind it.

// nginxBinary finds Debian's nginx. Without it the test skips, except in
// CI (PHONE_OTP_CI=1), where a missing nginx is a failure.
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/nginx", "nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("PHONE_OTP_CI") == "1" {
		t.Fatal("nginx is not installed (apt-get install nginx); PHONE_OTP_CI=1 needs the forward-auth test to run")
	}
	t.Skip("nginx is not installed; skipping the forward-auth test")
	return ""
}

// docsBlock is the code block of docs/forward-auth.md between the
// markers <!-- name --> and <!-- /name -->: the tests run what the docs say.
func docsBlock(t *testing.T, name, lang string) string {
	t.Helper()
	raw, err := os.ReadFile("docs/forward-auth.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "<!-- "+name+" -->\n```"+lang+"\n")
	block, _, ok2 := strings.Cut(rest, "```\n<!-- /"+name+" -->")
	if !ok || !ok2 {
		t.Fatalf("docs/forward-auth.md has no %s block between <!-- %s --> markers", lang, name)
	}
	return block
}

// startNginx runs nginx with the docs' config in front of app and the
// phone_otp Caddy at otp (host:port each), on a free port of its own, in
// the foreground, with every path of its own in a temporary folder. It
// returns nginx's URL.
func startNginx(t *testing.T, bin, app, otp string) string {
	t.Helper()
	port := freePort(t)
	server := docsBlock(t, "nginx.conf", "nginx")
	for _, sub := range [][2]string{
		{"server 127.0.0.1:3000;", "server " + app + ";"},
		{"server 127.0.0.1:9080;", "server " + otp + ";"},
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
	} {
		if n := strings.Count(server, sub[0]); n != 1 {
			t.Fatalf("docs' nginx config has %q %d times, want once", sub[0], n)
		}
		server = strings.Replace(server, sub[0], sub[1], 1)
	}
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		// Workers would run as nobody, who cannot use the temp paths here.
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 64; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%[3]s
}
`, user, dir, server)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "error.log")
	cmd := exec.Command(bin, "-p", dir+"/", "-c", confPath, "-e", errLog, "-g", "daemon off;")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its workers with it
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(errLog)
			t.Logf("nginx error.log:\n%s", log)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-exited:
			log, _ := os.ReadFile(errLog)
			t.Fatalf("nginx exited: %s\n%s", out, log)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not listening on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The browser's host is Caddy's site's, so the login pages answer it.
	return fmt.Sprintf("http://localhost:%d", port)
}

// recordingApp is the app behind nginx: it answers as newEchoApp does and
// keeps the headers of every request it got.
type recordingApp struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newRecordingApp(t *testing.T) *recordingApp {
	a := &recordingApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, r.Header.Clone())
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoed{URI: r.RequestURI, Headers: r.Header})
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *recordingApp) headers() []http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]http.Header(nil), a.seen...)
}

func (a *recordingApp) count() int { return len(a.headers()) }
