package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: a
// Close that leaves a pipe behind is a leak.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo starts a line echo server; it ends at Cleanup.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	conns := make(chan net.Conn, 64)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go io.Copy(c, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func start(t *testing.T) (*Proxy, net.Conn, *bufio.Reader) {
	t.Helper()
	p, err := New(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c, bufio.NewReader(c)
}

// roundTrip writes a line and reads it back within limit.
func roundTrip(c net.Conn, r *bufio.Reader, limit time.Duration) (time.Duration, error) {
	t0 := time.Now()
	c.SetDeadline(t0.Add(limit))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return 0, err
	}
	s, err := r.ReadString('\n')
	if err == nil && s != "ping\n" {
		err = errors.New("echoed " + s)
	}
	return time.Since(t0), err
}

func TestFaultProxyForwardsAndDelays(t *testing.T) {
	p, c, r := start(t)
	if d, err := roundTrip(c, r, time.Second); err != nil {
		t.Fatalf("plain: %v", err)
	} else if d > 100*time.Millisecond {
		t.Errorf("plain round trip %v", d)
	}
	p.SetLatency(Up, 100*time.Millisecond)
	p.SetLatency(Down, 100*time.Millisecond)
	if d, err := roundTrip(c, r, 2*time.Second); err != nil || d < 200*time.Millisecond {
		t.Errorf("with 100ms each way: %v, %v; want at least 200ms", d, err)
	}
	p.Heal()
	if d, err := roundTrip(c, r, time.Second); err != nil || d > 100*time.Millisecond {
		t.Errorf("healed: %v, %v", d, err)
	}
}

func TestFaultProxyBandwidth(t *testing.T) {
	p, c, r := start(t)
	p.SetBandwidth(Down, 50) // 5 bytes a tenth of a second
	big := make([]byte, 50)
	for i := range big {
		big[i] = 'x'
	}
	big[49] = '\n'
	t0 := time.Now()
	c.SetDeadline(t0.Add(5 * time.Second))
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 800*time.Millisecond {
		t.Errorf("50 bytes at 50 B/s took %v, want about 1s", d)
	}
}

func TestFaultProxyPartition(t *testing.T) {
	p, c, r := start(t)
	p.Partition(true)
	if _, err := roundTrip(c, r, 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("partitioned: %v, want a timeout", err)
	}
	if p.Conns() != 1 {
		t.Errorf("partitioned: %d connections open, want 1 (a partition closes nothing)", p.Conns())
	}
	p.Partition(false)
	// The line written during the partition passes now, then a new one.
	if s, err := r.ReadString('\n'); err != nil || s != "ping\n" {
		t.Fatalf("after: %q %v", s, err)
	}
	if _, err := roundTrip(c, r, time.Second); err != nil {
		t.Errorf("after the partition: %v", err)
	}
}

func TestFaultProxyResetAndRefuse(t *testing.T) {
	p, c, r := start(t)
	if _, err := roundTrip(c, r, time.Second); err != nil {
		t.Fatal(err)
	}
	if n := p.ResetAll(); n != 1 {
		t.Errorf("reset %d, want 1", n)
	}
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := r.ReadString('\n'); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after reset: %v, want ECONNRESET", err)
	}
	deadline := time.Now().Add(time.Second)
	for p.Conns() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if p.Conns() != 0 {
		t.Errorf("%d connections after reset", p.Conns())
	}
	p.Refuse(true)
	c2, err := net.Dial("tcp", p.Addr())
	if err == nil {
		c2.SetDeadline(time.Now().Add(time.Second))
		_, err = c2.Read(make([]byte, 1))
		c2.Close()
	}
	if err == nil || isTimeout(err) {
		t.Errorf("refused connection: %v, want reset or EOF", err)
	}
	p.Refuse(false)
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if _, err := roundTrip(c3, bufio.NewReader(c3), time.Second); err != nil {
		t.Errorf("accepting again: %v", err)
	}
	if a, rf := p.Stats(); a != 2 || rf != 1 {
		t.Errorf("stats %d accepted %d refused, want 2 and 1", a, rf)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
