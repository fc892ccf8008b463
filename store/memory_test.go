package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// fakeClock is a clock that tests step instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// step is one action in a scripted test: a store call with the result it
// must give, or a step of the clock.
type step struct {
	op    string // get, set, setnx, incr, cad, del, tick
	key   string
	val   string
	delta int64
	ttl   time.Duration
	keys  []string

	want    string // get: value
	wantN   int64  // incr: value
	wantOK  bool   // setnx, cad
	wantTTL time.Duration
	wantErr error // get: ErrNotFound
}

func TestMemoryScripts(t *testing.T) {
	const k = "k"
	tests := []struct {
		name  string
		steps []step
	}{
		{"get missing", []step{
			{op: "get", key: k, wantErr: ErrNotFound},
		}},
		{"set get expire", []step{
			{op: "set", key: k, val: "v", ttl: time.Minute},
			{op: "get", key: k, want: "v", wantTTL: time.Minute},
			{op: "tick", ttl: 59 * time.Second},
			{op: "get", key: k, want: "v", wantTTL: time.Second},
			{op: "tick", ttl: time.Second},
			{op: "get", key: k, wantErr: ErrNotFound},
		}},
		{"set replaces value and ttl", []step{
			{op: "set", key: k, val: "a", ttl: time.Minute},
			{op: "tick", ttl: 30 * time.Second},
			{op: "set", key: k, val: "b", ttl: 2 * time.Minute},
			{op: "get", key: k, want: "b", wantTTL: 2 * time.Minute},
			{op: "tick", ttl: time.Minute},
			{op: "get", key: k, want: "b", wantTTL: time.Minute},
			{op: "set", key: k, val: "c", ttl: time.Second},
			{op: "tick", ttl: time.Second},
			{op: "get", key: k, wantErr: ErrNotFound},
		}},
		{"empty value", []step{
			{op: "set", key: k, val: "", ttl: time.Minute},
			{op: "get", key: k, want: "", wantTTL: time.Minute},
		}},
		{"setnx first wins", []step{
			{op: "setnx", key: k, val: "a", ttl: time.Minute, wantOK: true, wantTTL: time.Minute},
			{op: "tick", ttl: 20 * time.Second},
			{op: "setnx", key: k, val: "b", ttl: time.Minute, wantOK: false, wantTTL: 40 * time.Second},
			{op: "get", key: k, want: "a", wantTTL: 40 * time.Second},
			{op: "tick", ttl: 40 * time.Second},
			{op: "setnx", key: k, val: "c", ttl: time.Minute, wantOK: true, wantTTL: time.Minute},
			{op: "get", key: k, want: "c", wantTTL: time.Minute},
		}},
		{"incr fixed window", []step{
			{op: "incr", key: k, delta: 1, ttl: time.Hour, wantN: 1, wantTTL: time.Hour},
			{op: "tick", ttl: 10 * time.Minute},
			{op: "incr", key: k, delta: 1, ttl: time.Hour, wantN: 2, wantTTL: 50 * time.Minute},
			{op: "incr", key: k, delta: 5, ttl: 5 * time.Hour, wantN: 7, wantTTL: 50 * time.Minute},
			{op: "get", key: k, want: "7", wantTTL: 50 * time.Minute},
			{op: "tick", ttl: 50 * time.Minute},
			{op: "get", key: k, wantErr: ErrNotFound},
			{op: "incr", key: k, delta: 1, ttl: time.Hour, wantN: 1, wantTTL: time.Hour},
		}},
		{"incr negative", []step{
			{op: "incr", key: k, delta: -2, ttl: time.Minute, wantN: -2, wantTTL: time.Minute},
			{op: "incr", key: k, delta: 3, ttl: time.Minute, wantN: 1, wantTTL: time.Minute},
			{op: "incr", key: k, delta: -1, ttl: time.Minute, wantN: 0, wantTTL: time.Minute},
		}},
		{"incr counts a set integer", []step{
			{op: "set", key: k, val: "41", ttl: time.Minute},
			{op: "incr", key: k, delta: 1, ttl: time.Hour, wantN: 42, wantTTL: time.Minute},
		}},
		{"compare and delete", []step{
			{op: "set", key: k, val: "id", ttl: time.Minute},
			{op: "cad", key: k, val: "other", wantOK: false},
			{op: "get", key: k, want: "id", wantTTL: time.Minute},
			{op: "cad", key: k, val: "id", wantOK: true},
			{op: "cad", key: k, val: "id", wantOK: false},
			{op: "get", key: k, wantErr: ErrNotFound},
		}},
		{"compare and delete after expiry", []step{
			{op: "set", key: k, val: "id", ttl: time.Minute},
			{op: "tick", ttl: time.Minute},
			{op: "cad", key: k, val: "id", wantOK: false},
		}},
		{"compare and delete missing", []step{
			{op: "cad", key: k, val: "", wantOK: false},
		}},
		{"delete several", []step{
			{op: "set", key: "a", val: "1", ttl: time.Minute},
			{op: "set", key: "b", val: "2", ttl: time.Minute},
			{op: "set", key: "c", val: "3", ttl: time.Minute},
			{op: "del", keys: []string{"a", "c", "missing"}},
			{op: "get", key: "a", wantErr: ErrNotFound},
			{op: "get", key: "b", want: "2", wantTTL: time.Minute},
			{op: "get", key: "c", wantErr: ErrNotFound},
			{op: "del"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			m := NewMemory(clk.Now)
			ctx := context.Background()
			for i, s := range tt.steps {
				where := fmt.Sprintf("step %d (%s %s)", i, s.op, s.key)
				switch s.op {
				case "tick":
					clk.Step(s.ttl)
				case "get":
					v, ttl, err := m.Get(ctx, s.key)
					if !errors.Is(err, s.wantErr) {
						t.Fatalf("%s: err = %v, want %v", where, err, s.wantErr)
					}
					if err == nil && (string(v) != s.want || ttl != s.wantTTL) {
						t.Fatalf("%s: got %q %v, want %q %v", where, v, ttl, s.want, s.wantTTL)
					}
				case "set":
					if err := m.Set(ctx, s.key, []byte(s.val), s.ttl); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
				case "setnx":
					ok, ttl, err := m.SetNX(ctx, s.key, []byte(s.val), s.ttl)
					if err != nil || ok != s.wantOK || ttl != s.wantTTL {
						t.Fatalf("%s: got %v %v %v, want %v %v", where, ok, ttl, err, s.wantOK, s.wantTTL)
					}
				case "incr":
					n, ttl, err := m.Incr(ctx, s.key, s.delta, s.ttl)
					if err != nil || n != s.wantN || ttl != s.wantTTL {
						t.Fatalf("%s: got %d %v %v, want %d %v", where, n, ttl, err, s.wantN, s.wantTTL)
					}
				case "cad":
					ok, err := m.CompareAndDelete(ctx, s.key, []byte(s.val))
					if err != nil || ok != s.wantOK {
						t.Fatalf("%s: got %v %v, want %v", where, ok, err, s.wantOK)
					}
				case "del":
					if err := m.Delete(ctx, s.keys...); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
				default:
					t.Fatalf("%s: unknown op", where)
				}
			}
		})
	}
}

func TestMemoryErrors(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(nil)
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := m.Set(ctx, "k", []byte("v"), ttl); err == nil {
			t.Errorf("Set ttl %v: no error", ttl)
		}
		if _, _, err := m.SetNX(ctx, "k", []byte("v"), ttl); err == nil {
			t.Errorf("SetNX ttl %v: no error", ttl)
		}
		if _, _, err := m.Incr(ctx, "k", 1, ttl); err == nil {
			t.Errorf("Incr ttl %v: no error", ttl)
		}
	}
	if _, _, err := m.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused Set stored something: %v", err)
	}

	if err := m.Set(ctx, "s", []byte("abc"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Incr(ctx, "s", 1, time.Minute); err == nil {
		t.Error("Incr of a non-integer: no error")
	}
	if err := m.Set(ctx, "max", []byte("9223372036854775807"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Incr(ctx, "max", 1, time.Minute); err == nil {
		t.Error("Incr past MaxInt64: no error")
	}

	var zero Memory // never provisioned: fails closed, no panic
	if _, _, err := zero.Get(ctx, "k"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("unprovisioned Get: %v", err)
	}
	if err := zero.Set(ctx, "k", nil, time.Minute); err == nil {
		t.Error("unprovisioned Set: no error")
	}
	if err := zero.Cleanup(); err != nil {
		t.Errorf("unprovisioned Cleanup: %v", err)
	}
}

// Neither what a caller passed to Set nor what Get returned may alias the
// stored entry.
func TestMemoryCopies(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(nil)
	in := []byte("value")
	if err := m.Set(ctx, "k", in, time.Minute); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	out, _, err := m.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	out[1] = 'Y'
	again, _, _ := m.Get(ctx, "k")
	if string(again) != "value" {
		t.Fatalf("stored value changed to %q", again)
	}
}

// parallel runs f(i) in n goroutines released together.
func parallel(n int, f func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			f(i)
		}()
	}
	start.Done()
	done.Wait()
}

func TestMemoryConcurrent(t *testing.T) {
	const n = 50
	ctx := context.Background()

	t.Run("incr", func(t *testing.T) {
		m := NewMemory(nil)
		got := make([]int64, n)
		parallel(n, func(i int) {
			v, _, err := m.Incr(ctx, "c", 1, time.Minute)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
		seen := map[int64]bool{}
		for _, v := range got {
			if v < 1 || v > n || seen[v] {
				t.Fatalf("Incr results not 1..%d each once: %v", n, got)
			}
			seen[v] = true
		}
		if v, _, _ := m.Get(ctx, "c"); string(v) != fmt.Sprint(n) {
			t.Fatalf("final value %q, want %d", v, n)
		}
	})

	t.Run("compare and delete", func(t *testing.T) {
		m := NewMemory(nil)
		if err := m.Set(ctx, "code", []byte("h"), time.Minute); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		wins := 0
		parallel(n, func(int) {
			ok, err := m.CompareAndDelete(ctx, "code", []byte("h"))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
		if wins != 1 {
			t.Fatalf("%d winners, want 1", wins)
		}
	})

	t.Run("setnx", func(t *testing.T) {
		m := NewMemory(nil)
		var mu sync.Mutex
		var winners []int
		parallel(n, func(i int) {
			ok, _, err := m.SetNX(ctx, "lock", []byte(fmt.Sprint(i)), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				winners = append(winners, i)
				mu.Unlock()
			}
		})
		if len(winners) != 1 {
			t.Fatalf("winners %v, want exactly one", winners)
		}
		if v, _, _ := m.Get(ctx, "lock"); string(v) != fmt.Sprint(winners[0]) {
			t.Fatalf("stored %q, winner was %d", v, winners[0])
		}
	})

	t.Run("mixed", func(t *testing.T) {
		// For the race detector: every method on overlapping keys.
		m := NewMemory(nil)
		parallel(n, func(i int) {
			k := fmt.Sprint("k", i%3)
			_ = m.Set(ctx, k, []byte("1"), time.Minute)
			_, _, _ = m.Get(ctx, k)
			_, _, _ = m.Incr(ctx, k, 1, time.Minute)
			_, _, _ = m.SetNX(ctx, k, []byte("2"), time.Minute)
			_, _ = m.CompareAndDelete(ctx, k, []byte("2"))
			_ = m.Delete(ctx, "k0", "k1", "k2")
		})
	})
}

// TestMemoryReload provisions through the pool the way Caddy does across a
// reload: the new config is provisioned before the old one is cleaned up.
func TestMemoryReload(t *testing.T) {
	ctx := context.Background()
	provision := func() *Memory {
		t.Helper()
		cctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		t.Cleanup(cancel)
		m := new(Memory)
		if err := m.Provision(cctx); err != nil {
			t.Fatal(err)
		}
		return m
	}

	old := provision()
	if err := old.Set(ctx, "pending", []byte("hash"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := old.Incr(ctx, "count", 3, time.Minute); err != nil {
		t.Fatal(err)
	}

	next := provision()
	if v, _, err := next.Get(ctx, "pending"); err != nil || string(v) != "hash" {
		t.Fatalf("second instance does not share state: %q %v", v, err)
	}
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if v, _, err := next.Get(ctx, "pending"); err != nil || string(v) != "hash" {
		t.Fatalf("state lost when the old config was cleaned up: %q %v", v, err)
	}
	if n, _, err := next.Incr(ctx, "count", 1, time.Minute); err != nil || n != 4 {
		t.Fatalf("counter after reload = %d %v, want 4", n, err)
	}
	mc := next.mem
	if err := next.Cleanup(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-mc.stop:
	default:
		t.Fatal("cache not destroyed after its last user was cleaned up")
	}

	fresh := provision()
	defer fresh.Cleanup()
	if _, _, err := fresh.Get(ctx, "pending"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("state survived the last cleanup: %v", err)
	}
}

func TestMemoryModule(t *testing.T) {
	if id := (Memory{}).CaddyModule().ID; id != "http.handlers.phone_otp.store.memory" {
		t.Fatalf("module ID %q", id)
	}
	mod, err := caddy.GetModule(Namespace + ".memory")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mod.New().(Store); !ok {
		t.Fatal("module instance is not a Store")
	}
}

func TestMemoryUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		input   string
		wantErr string
	}{
		{"memory", ""},
		{"memory {\n}", ""},
		{"memory extra", "wrong argument count"},
		{"memory {\n address localhost:6379\n}", `unrecognized subdirective "address"`},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			err := new(Memory).UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func BenchmarkMemoryGet(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(nil)
	if err := m.Set(ctx, "phone_otp:rev:0123456789abcdef", []byte("1"), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := m.Get(ctx, "phone_otp:rev:0123456789abcdef"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkMemoryIncr(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, _, err := m.Incr(ctx, fmt.Sprint("phone_otp:lim:", i%1024), 1, time.Hour); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkMemoryMillionEntries reports the heap a million entries take,
// with keys of 40 bytes and values of 64, the size of the flow's keys and
// hashes.
func BenchmarkMemoryMillionEntries(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	val := bytes.Repeat([]byte("v"), 64)
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := NewMemory(nil)
		for i := range n {
			key := fmt.Sprintf("phone_otp:code:+1201555%017d", i) // 40 bytes
			if err := m.Set(ctx, key, val, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapInuse) - float64(before.HeapInuse)
		b.ReportMetric(heap/(1<<20), "heap-MB")
		b.ReportMetric(heap/n, "heap-B/entry")
		runtime.KeepAlive(m)
		_ = m.Cleanup()
	}
}

func TestMemoryKeys(t *testing.T) {
	ctx := context.Background()
	c := newFakeClock()
	m := NewMemory(c.Now)
	for _, kv := range []struct {
		key string
		ttl time.Duration
	}{
		{"otp:a:block:+1", time.Hour},
		{"otp:a:block:+2", time.Minute},
		{"otp:a:blockx", time.Hour},
		{"otp:a*:block:+3", time.Hour},
		{"otp:b:block:+4", time.Hour},
	} {
		if err := m.Set(ctx, kv.key, []byte("1"), kv.ttl); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := m.Incr(ctx, "otp:a:block:+5", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	c.Step(2 * time.Minute) // +2 expires by the store's clock

	tests := []struct {
		prefix string
		want   []string
	}{
		{"otp:a:block:", []string{"otp:a:block:+1", "otp:a:block:+5"}},
		{"otp:a*:", []string{"otp:a*:block:+3"}}, // literal, not a glob
		{"otp:c:", nil},
		{"", []string{"otp:a*:block:+3", "otp:a:block:+1", "otp:a:block:+5", "otp:a:blockx", "otp:b:block:+4"}},
	}
	for _, tt := range tests {
		got, err := m.Keys(ctx, tt.prefix)
		if err != nil {
			t.Fatalf("Keys(%q): %v", tt.prefix, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Keys(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}

	var zero Memory
	if _, err := zero.Keys(ctx, ""); err == nil {
		t.Error("unprovisioned Keys: no error")
	}
}

func TestMemoryWindow(t *testing.T) {
	ctx := context.Background()
	c := newFakeClock()
	m := NewMemory(c.Now)
	if _, _, err := m.Window(ctx, "w"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no window: err = %v, want ErrNotFound", err)
	}
	for range 3 {
		if ok, _, err := m.Hit(ctx, "w", 5, time.Hour, 0); !ok || err != nil {
			t.Fatalf("Hit = %v, %v", ok, err)
		}
	}
	c.Step(10 * time.Minute)
	if ok, _, _ := m.Hit(ctx, "w", 3, time.Hour, 0); ok {
		t.Fatal("a refused Hit was allowed")
	}
	n, left, err := m.Window(ctx, "w")
	if err != nil || n != 3 || left != 50*time.Minute {
		t.Errorf("Window = %d, %v, %v; want 3 events, 50m left (a refused Hit is not counted)", n, left, err)
	}
	if err := m.Unhit(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := m.Window(ctx, "w"); n != 2 {
		t.Errorf("after Unhit: %d events, want 2", n)
	}
	if err := m.Set(ctx, "s", []byte("abc"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Window(ctx, "s"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Window of a plain value: err = %v, want a format error", err)
	}
	c.Step(time.Hour)
	if _, _, err := m.Window(ctx, "w"); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired window: err = %v, want ErrNotFound", err)
	}
	var zero Memory
	if _, _, err := zero.Window(ctx, "w"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("unprovisioned Window: %v", err)
	}
}
