// Package faultproxy is a small fault-injecting TCP proxy for tests: it
// listens on 127.0.0.1, forwards each connection to one target, and can,
// at run time, delay each direction, cut its bandwidth, stop forwarding
// silently (a partition: the connections stay open and nothing passes),
// reset every open connection, and refuse new ones. It uses the standard
// library only.
package faultproxy

import (
	"net"
	"sync"
	"time"
)

// Direction names one half of a proxied connection.
type Direction int

const (
	// Up is client to target.
	Up Direction = iota
	// Down is target to client.
	Down
)

// Proxy is a fault-injecting TCP proxy. Its methods are safe for
// concurrent use. The zero value is not usable: see New.
type Proxy struct {
	ln     net.Listener
	target string
	done   chan struct{}
	wg     sync.WaitGroup

	mu        sync.Mutex
	latency   [2]time.Duration
	rate      [2]int        // bytes per second; 0 is unlimited
	gate      chan struct{} // closed while forwarding; open during a partition
	refuse    bool
	links     map[*link]struct{}
	closed    bool
	accepted  int
	refused   int
	closeOnce sync.Once
}

// New starts a proxy on 127.0.0.1:0 that forwards to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, done: make(chan struct{}), gate: closedChan(), links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// Addr is the address the proxy listens on (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every chunk by d in direction dir, from the moment it
// is read. Chunks keep their order.
func (p *Proxy) SetLatency(dir Direction, d time.Duration) {
	p.mu.Lock()
	p.latency[dir] = d
	p.mu.Unlock()
}

// SetBandwidth limits direction dir to bytesPerSec (0: unlimited).
func (p *Proxy) SetBandwidth(dir Direction, bytesPerSec int) {
	p.mu.Lock()
	p.rate[dir] = bytesPerSec
	p.mu.Unlock()
}

// Partition stops (on) or resumes (off) forwarding in both directions.
// While partitioned the connections stay open and new ones are accepted,
// but no byte passes; what was read is held and passes on resume.
func (p *Proxy) Partition(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	open := true
	select {
	case <-p.gate:
	default:
		open = false
	}
	switch {
	case on && open:
		p.gate = make(chan struct{})
	case !on && !open:
		close(p.gate)
	}
}

// Refuse makes the proxy reset (on) or accept (off) new connections.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}

// ResetAll resets every open connection, both its sides (an RST: linger
// 0, then close), and reports how many it reset.
func (p *Proxy) ResetAll() int {
	p.mu.Lock()
	ls := make([]*link, 0, len(p.links))
	for l := range p.links {
		ls = append(ls, l)
	}
	p.mu.Unlock()
	for _, l := range ls {
		l.close(true)
	}
	return len(ls)
}

// Heal ends every fault: no latency, no bandwidth limit, no partition,
// new connections accepted.
func (p *Proxy) Heal() {
	p.mu.Lock()
	p.latency = [2]time.Duration{}
	p.rate = [2]int{}
	p.refuse = false
	p.mu.Unlock()
	p.Partition(false)
}

// Conns is the number of open proxied connections.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Stats reports how many connections were accepted and forwarded, and
// how many were refused.
func (p *Proxy) Stats() (accepted, refused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.refused
}

// Close stops listening, resets every open connection and waits for all
// of the proxy's goroutines to end.
func (p *Proxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.done)
		err = p.ln.Close()
		p.ResetAll()
		p.wg.Wait()
	})
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse, closed := p.refuse, p.closed
		if refuse {
			p.refused++
		}
		p.mu.Unlock()
		if refuse || closed {
			reset(c)
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// serve dials the target for client c and forwards until either side
// ends or the link is reset.
func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	d := net.Dialer{Timeout: 5 * time.Second}
	t, err := d.Dial("tcp", p.target)
	if err != nil {
		reset(c)
		return
	}
	l := &link{client: c, target: t, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		reset(c)
		reset(t)
		return
	}
	p.links[l] = struct{}{}
	p.accepted++
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(l, Up, c, t) }()
	go func() { defer wg.Done(); p.pipe(l, Down, t, c) }()
	wg.Wait()
	l.close(false)
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// chunk is what one read returned, and when it may be written.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe forwards src to dst in direction dir: a reader that stamps each
// chunk with its due time, and a writer that waits for it, for the gate
// and for the bandwidth.
func (p *Proxy) pipe(l *link, dir Direction, src, dst net.Conn) {
	q := make(chan chunk, 64)
	go func() {
		defer close(q)
		for {
			if !p.wait(l) {
				return
			}
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				lat := p.latency[dir]
				p.mu.Unlock()
				select {
				case q <- chunk{buf[:n], time.Now().Add(lat)}:
				case <-l.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		// The reader ends once the link is closed; drain it.
		l.close(false)
		for range q {
		}
	}()
	for ck := range q {
		if !l.sleep(time.Until(ck.due)) {
			return
		}
		for b := ck.b; len(b) > 0; {
			if !p.wait(l) {
				return
			}
			p.mu.Lock()
			rate := p.rate[dir]
			p.mu.Unlock()
			n := len(b)
			if rate > 0 {
				// At most a tenth of a second's worth at a time.
				n = min(n, max(1, rate/10))
			}
			if _, err := dst.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
			if rate > 0 && !l.sleep(time.Duration(n)*time.Second/time.Duration(rate)) {
				return
			}
		}
	}
	// src ended: everything read has been written; end the link.
}

// wait blocks while the proxy is partitioned; false if the link ended.
func (p *Proxy) wait(l *link) bool {
	p.mu.Lock()
	g := p.gate
	p.mu.Unlock()
	select {
	case <-g:
		return true
	case <-l.done:
		return false
	}
}

// link is one proxied connection.
type link struct {
	client, target net.Conn
	once           sync.Once
	done           chan struct{}
}

// close ends both sides; with rst, as a reset.
func (l *link) close(rst bool) {
	l.once.Do(func() {
		close(l.done)
		if rst {
			reset(l.client)
			reset(l.target)
			return
		}
		l.client.Close()
		l.target.Close()
	})
}

// sleep waits d, or until the link ends (false).
func (l *link) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-l.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.done:
		return false
	}
}

// reset closes c with an RST rather than a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
