// Package redistest runs a real redis-server for tests: one private
// process per test on a free loopback port, with no persistence, that a
// test can stop, restart on the same port, or freeze to play a hung Redis.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is the server the tests run, looked up on PATH.
const Binary = "redis-server"

// ciEnv, when "1", makes a missing redis-server a failure instead of a skip:
// CI promises the binary (.ci/run installs it), so its absence is a bug.
const ciEnv = "PHONE_OTP_CI"

// Server is one redis-server process.
type Server struct {
	// Addr is host:port, for clients.
	Addr string
	Port int
	// With StartTLS: a second port that speaks TLS only (localhost:port),
	// and the PEM file of the CA that signed its certificate.
	TLSAddr string
	CAFile  string

	t       testing.TB
	bin     string
	cluster bool
	// cluster-node-timeout in ms; 0: Redis's default.
	nodeTimeout int
	tls         *tlsFiles
	tlsPort     int
	sentinel    *Server // the master a Sentinel watches
	master      *Server // the master a replica follows

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start runs a redis-server for t and stops it at t's end. Without the
// binary on PATH it skips t, or fails it when PHONE_OTP_CI=1.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false, false)
}

// StartCluster runs a one-node Redis Cluster that owns every hash slot, so
// that clients take their cluster code paths (slot routing, and CROSSSLOT
// errors for multi-key commands whose keys hash apart) with one process.
func StartCluster(t testing.TB) *Server {
	t.Helper()
	return start(t, true, false)
}

// StartTLS runs a redis-server that also listens for TLS on TLSAddr, with
// a certificate for localhost and 127.0.0.1 from a CA of the test's own.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return start(t, false, true)
}

// SentinelMaster is the master name StartSentinel's Sentinel knows.
const SentinelMaster = "mymaster"

// StartSentinel runs a Redis Sentinel that watches master under the name
// SentinelMaster, so clients can ask it where the master is.
func StartSentinel(t testing.TB, master *Server) *Server {
	t.Helper()
	s := &Server{t: t, bin: master.bin, sentinel: master, Port: freePort(t)}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// lookPath finds a binary the tests need: without it they skip, or fail
// when PHONE_OTP_CI=1.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(ciEnv) == "1" {
			t.Fatalf("%s is not on PATH, and %s=1 says the tests need it (apt-get install redis-server)", name, ciEnv)
		}
		t.Skipf("%s is not on PATH; install it (apt-get install redis-server) to run this test", name)
	}
	return bin
}

func start(t testing.TB, cluster, withTLS bool) *Server {
	t.Helper()
	s := newServer(t, cluster, withTLS, 0)
	if cluster {
		s.mustDo("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
		s.waitFor("cluster up", func() bool {
			info, err := s.Do("CLUSTER", "INFO")
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
	}
	return s
}

// newServer starts a server (a cluster node owning no slots yet, with
// cluster, and nodeTimeout ms its cluster-node-timeout unless 0) and
// stops it at t's end.
func newServer(t testing.TB, cluster, withTLS bool, nodeTimeout int) *Server {
	t.Helper()
	bin := lookPath(t, Binary)
	s := &Server{t: t, bin: bin, cluster: cluster, nodeTimeout: nodeTimeout, Port: freePort(t)}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	if withTLS {
		s.tls = writeTLSFiles(t, t.TempDir())
		s.tlsPort = freePort(t)
		s.TLSAddr = net.JoinHostPort("localhost", strconv.Itoa(s.tlsPort))
		s.CAFile = s.tls.ca
	}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the server again on its port, after Stop. The data set
// starts empty: nothing is persisted.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		s.t.Fatal("redistest: Restart of a running server")
	}
	dir := s.t.TempDir()
	args := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--protected-mode", "no",
		"--loglevel", "warning",
		"--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"),
	}
	if s.tls != nil {
		args = append(args, "--tls-port", strconv.Itoa(s.tlsPort),
			"--tls-cert-file", s.tls.cert, "--tls-key-file", s.tls.key,
			"--tls-ca-cert-file", s.tls.ca, "--tls-auth-clients", "no")
	}
	if s.cluster {
		args = append(args, "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes-"+strconv.Itoa(s.Port)+".conf")
		if s.nodeTimeout > 0 {
			args = append(args, "--cluster-node-timeout", strconv.Itoa(s.nodeTimeout))
		}
	}
	if s.sentinel != nil {
		// A Sentinel rewrites its config file, so it gets one of its own.
		conf := filepath.Join(dir, "sentinel.conf")
		// A master is down after 500ms without an answer, and a failover
		// may be retried after 3s: quick enough for a test to wait for.
		text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 1\n"+
			"sentinel down-after-milliseconds %[1]s 500\n"+
			"sentinel failover-timeout %[1]s 3000\n", SentinelMaster, s.sentinel.Port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			s.mu.Unlock()
			s.t.Fatal(err)
		}
		args = append([]string{conf, "--sentinel"}, args...)
	}
	if s.master != nil {
		args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(s.master.Port))
	}
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatalf("redistest: start %s: %v", s.bin, err)
	}
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pong, err := s.Do("PING")
		if err == nil && pong == "PONG" {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			s.t.Fatalf("redistest: redis-server on %s did not answer PING: %v; its log:\n%s", s.Addr, err, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop kills the server, as a crash or a lost host would; clients see
// their connections drop and new ones refused. Stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	// A frozen server must be thawed to die promptly on some kernels.
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Freeze stops the process without closing its socket (SIGSTOP): the
// kernel still accepts connections and queues commands, but nothing is
// answered, as with a hung or overloaded Redis. Thaw resumes it.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server.
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redistest: signal %v to a stopped server", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

// Do sends one command over a fresh connection and returns the reply as
// text: a status or bulk string as is, an integer in decimal, an error
// reply as an error. It is for setting up and inspecting the server, not a
// client under test.
func (s *Server) Do(args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("redistest: empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("redistest: unexpected reply %q", line)
}

func (s *Server) mustDo(args ...string) string {
	s.t.Helper()
	out, err := s.Do(args...)
	if err != nil {
		s.t.Fatalf("redistest: %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// waitFor polls ok every 10ms for up to 10s.
func (s *Server) waitFor(what string, ok func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			s.t.Fatalf("redistest: timed out waiting for %s on %s", what, s.Addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freePort asks the kernel for a free loopback port. A cluster node also
// listens on port+10000 (its bus), so such ports are avoided.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port+10000 > 65535 {
			continue
		}
		if bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000)); err == nil {
			bus.Close()
			return port
		}
	}
	t.Fatal("redistest: no free port pair")
	return 0
}
