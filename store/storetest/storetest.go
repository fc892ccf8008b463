// Package storetest is the conformance suite every store.Store runs, so
// that the memory and Redis stores keep exactly the same semantics: one
// table of scripted calls with the results each must give, the error
// cases, and races on one key.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// Harness is how the suite makes the store under test.
type Harness struct {
	// New returns an empty store for one test, and a function that makes
	// d of time pass for it (a stepped clock, or shortened TTLs).
	New func(t *testing.T) (s store.Store, advance func(d time.Duration))
	// Slack is how far under the expected TTL a reported one may be: real
	// time passes between calls to a real server. 0 means exact.
	Slack time.Duration
}

// Run runs the whole suite against h's stores.
func Run(t *testing.T, h Harness) {
	t.Run("scripts", func(t *testing.T) { runScripts(t, h) })
	t.Run("errors", func(t *testing.T) { runErrors(t, h) })
	t.Run("copies", func(t *testing.T) { runCopies(t, h) })
	t.Run("concurrent", func(t *testing.T) { runConcurrent(t, h) })
	t.Run("hit", func(t *testing.T) { runHit(t, h) })
	t.Run("keys", func(t *testing.T) { runKeys(t, h) })
	t.Run("window", func(t *testing.T) { runWindow(t, h) })
	t.Run("attach", func(t *testing.T) { runAttach(t, h) })
	t.Run("packed counters", func(t *testing.T) { runPackedCounters(t, h) })
	t.Run("batch", func(t *testing.T) { runBatch(t, h) })
	t.Run("batched", func(t *testing.T) { runBatched(t, h) })
}

// step is one action in a script: a store call with the result it must
// give, or time passing.
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
	wantErr error // get: store.ErrNotFound
}

// binary is a value with every awkward byte: NUL, high bytes, CR LF.
const binary = "\x00\xff\x01\r\n\x80 \"'{}"

var scripts = []struct {
	name  string
	steps []step
}{
	{"get missing", []step{
		{op: "get", key: "k", wantErr: store.ErrNotFound},
	}},
	{"set get expire", []step{
		{op: "set", key: "k", val: "v", ttl: time.Minute},
		{op: "get", key: "k", want: "v", wantTTL: time.Minute},
		{op: "tick", ttl: 59 * time.Second},
		{op: "get", key: "k", want: "v", wantTTL: time.Second},
		{op: "tick", ttl: time.Second},
		{op: "get", key: "k", wantErr: store.ErrNotFound},
	}},
	{"set replaces value and ttl", []step{
		{op: "set", key: "k", val: "a", ttl: time.Minute},
		{op: "tick", ttl: 30 * time.Second},
		{op: "set", key: "k", val: "b", ttl: 2 * time.Minute},
		{op: "get", key: "k", want: "b", wantTTL: 2 * time.Minute},
		{op: "tick", ttl: time.Minute},
		{op: "get", key: "k", want: "b", wantTTL: time.Minute},
		{op: "set", key: "k", val: "c", ttl: time.Second},
		{op: "tick", ttl: time.Second},
		{op: "get", key: "k", wantErr: store.ErrNotFound},
	}},
	{"empty value", []step{
		{op: "set", key: "k", val: "", ttl: time.Minute},
		{op: "get", key: "k", want: "", wantTTL: time.Minute},
	}},
	{"binary value and key", []step{
		{op: "set", key: "k " + binary, val: binary, ttl: time.Minute},
		{op: "get", key: "k " + binary, want: binary, wantTTL: time.Minute},
		{op: "cad", key: "k " + binary, val: binary[:3], wantOK: false},
		{op: "cad", key: "k " + binary, val: binary, wantOK: true},
		{op: "get", key: "k " + binary, wantErr: store.ErrNotFound},
	}},
	{"setnx first wins", []step{
		{op: "setnx", key: "k", val: "a", ttl: time.Minute, wantOK: true, wantTTL: time.Minute},
		{op: "tick", ttl: 20 * time.Second},
		{op: "setnx", key: "k", val: "b", ttl: time.Minute, wantOK: false, wantTTL: 40 * time.Second},
		{op: "get", key: "k", want: "a", wantTTL: 40 * time.Second},
		{op: "tick", ttl: 40 * time.Second},
		{op: "setnx", key: "k", val: "c", ttl: time.Minute, wantOK: true, wantTTL: time.Minute},
		{op: "get", key: "k", want: "c", wantTTL: time.Minute},
	}},
	{"setnx after delete", []step{
		{op: "setnx", key: "k", val: "a", ttl: time.Minute, wantOK: true, wantTTL: time.Minute},
		{op: "del", keys: []string{"k"}},
		{op: "setnx", key: "k", val: "b", ttl: time.Hour, wantOK: true, wantTTL: time.Hour},
		{op: "get", key: "k", want: "b", wantTTL: time.Hour},
	}},
	{"incr fixed window", []step{
		{op: "incr", key: "k", delta: 1, ttl: time.Hour, wantN: 1, wantTTL: time.Hour},
		{op: "tick", ttl: 10 * time.Minute},
		{op: "incr", key: "k", delta: 1, ttl: time.Hour, wantN: 2, wantTTL: 50 * time.Minute},
		{op: "incr", key: "k", delta: 5, ttl: 5 * time.Hour, wantN: 7, wantTTL: 50 * time.Minute},
		{op: "get", key: "k", want: "7", wantTTL: 50 * time.Minute},
		{op: "tick", ttl: 50 * time.Minute},
		{op: "get", key: "k", wantErr: store.ErrNotFound},
		{op: "incr", key: "k", delta: 1, ttl: time.Hour, wantN: 1, wantTTL: time.Hour},
	}},
	{"incr negative", []step{
		{op: "incr", key: "k", delta: -2, ttl: time.Minute, wantN: -2, wantTTL: time.Minute},
		{op: "incr", key: "k", delta: 3, ttl: time.Minute, wantN: 1, wantTTL: time.Minute},
		{op: "incr", key: "k", delta: -1, ttl: time.Minute, wantN: 0, wantTTL: time.Minute},
		{op: "get", key: "k", want: "0", wantTTL: time.Minute},
	}},
	{"incr counts a set integer", []step{
		{op: "set", key: "k", val: "41", ttl: time.Minute},
		{op: "incr", key: "k", delta: 1, ttl: time.Hour, wantN: 42, wantTTL: time.Minute},
		{op: "set", key: "k", val: "-7", ttl: time.Hour},
		{op: "incr", key: "k", delta: 7, ttl: time.Minute, wantN: 0, wantTTL: time.Hour},
	}},
	{"compare and delete", []step{
		{op: "set", key: "k", val: "id", ttl: time.Minute},
		{op: "cad", key: "k", val: "other", wantOK: false},
		{op: "get", key: "k", want: "id", wantTTL: time.Minute},
		{op: "cad", key: "k", val: "id", wantOK: true},
		{op: "cad", key: "k", val: "id", wantOK: false},
		{op: "get", key: "k", wantErr: store.ErrNotFound},
	}},
	{"compare and delete after expiry", []step{
		{op: "set", key: "k", val: "id", ttl: time.Minute},
		{op: "tick", ttl: time.Minute},
		{op: "cad", key: "k", val: "id", wantOK: false},
	}},
	{"compare and delete missing", []step{
		{op: "cad", key: "k", val: "", wantOK: false},
	}},
	{"delete several", []step{
		{op: "set", key: "a", val: "1", ttl: time.Minute},
		{op: "set", key: "b", val: "2", ttl: time.Minute},
		{op: "set", key: "c", val: "3", ttl: time.Minute},
		{op: "del", keys: []string{"a", "c", "missing"}},
		{op: "get", key: "a", wantErr: store.ErrNotFound},
		{op: "get", key: "b", want: "2", wantTTL: time.Minute},
		{op: "get", key: "c", wantErr: store.ErrNotFound},
		{op: "del"},
	}},
}

func runScripts(t *testing.T, h Harness) {
	for _, tt := range scripts {
		t.Run(tt.name, func(t *testing.T) {
			s, advance := h.New(t)
			ctx := context.Background()
			for i, st := range tt.steps {
				where := fmt.Sprintf("step %d (%s %q)", i, st.op, st.key)
				switch st.op {
				case "tick":
					advance(st.ttl)
				case "get":
					v, ttl, err := s.Get(ctx, st.key)
					if !errors.Is(err, st.wantErr) {
						t.Fatalf("%s: err = %v, want %v", where, err, st.wantErr)
					}
					if err == nil && (string(v) != st.want || !h.ttlOK(ttl, st.wantTTL)) {
						t.Fatalf("%s: got %q %v, want %q %v", where, v, ttl, st.want, st.wantTTL)
					}
				case "set":
					if err := s.Set(ctx, st.key, []byte(st.val), st.ttl); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
				case "setnx":
					ok, ttl, err := s.SetNX(ctx, st.key, []byte(st.val), st.ttl)
					if err != nil || ok != st.wantOK || !h.ttlOK(ttl, st.wantTTL) {
						t.Fatalf("%s: got %v %v %v, want %v %v", where, ok, ttl, err, st.wantOK, st.wantTTL)
					}
				case "incr":
					n, ttl, err := s.Incr(ctx, st.key, st.delta, st.ttl)
					if err != nil || n != st.wantN || !h.ttlOK(ttl, st.wantTTL) {
						t.Fatalf("%s: got %d %v %v, want %d %v", where, n, ttl, err, st.wantN, st.wantTTL)
					}
				case "cad":
					ok, err := s.CompareAndDelete(ctx, st.key, []byte(st.val))
					if err != nil || ok != st.wantOK {
						t.Fatalf("%s: got %v %v, want %v", where, ok, err, st.wantOK)
					}
				case "del":
					if err := s.Delete(ctx, st.keys...); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
				default:
					t.Fatalf("%s: unknown op", where)
				}
			}
		})
	}
}

// ttlOK reports whether got is want, or under it by at most the slack.
func (h Harness) ttlOK(got, want time.Duration) bool {
	return got <= want && got >= want-h.Slack
}

func runErrors(t *testing.T, h Harness) {
	ctx := context.Background()
	s, _ := h.New(t)
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := s.Set(ctx, "k", []byte("v"), ttl); err == nil {
			t.Errorf("Set ttl %v: no error", ttl)
		}
		if _, _, err := s.SetNX(ctx, "k", []byte("v"), ttl); err == nil {
			t.Errorf("SetNX ttl %v: no error", ttl)
		}
		if _, _, err := s.Incr(ctx, "k", 1, ttl); err == nil {
			t.Errorf("Incr ttl %v: no error", ttl)
		}
	}
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused call stored something: %v", err)
	}

	for _, tt := range []struct{ name, val string }{
		{"a non-integer", "abc"},
		{"an empty value", ""},
		{"a fraction", "1.5"},
		{"a plus sign", "+5"},
		{"leading zeros", "007"},
		{"minus zero", "-0"},
		{"a space", " 5"},
	} {
		if err := s.Set(ctx, "s", []byte(tt.val), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Incr(ctx, "s", 1, time.Minute); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Incr of %s: err = %v, want a failure", tt.name, err)
		}
		if v, _, err := s.Get(ctx, "s"); err != nil || string(v) != tt.val {
			t.Errorf("a refused Incr changed %s to %q %v", tt.name, v, err)
		}
	}
	if err := s.Set(ctx, "max", []byte("9223372036854775807"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Incr(ctx, "max", 1, time.Minute); err == nil {
		t.Error("Incr past MaxInt64: no error")
	}
	if err := s.Set(ctx, "min", []byte("-9223372036854775808"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Incr(ctx, "min", -1, time.Minute); err == nil {
		t.Error("Incr past MinInt64: no error")
	}
	if v, _, _ := s.Get(ctx, "max"); string(v) != "9223372036854775807" {
		t.Errorf("a refused Incr changed the counter to %q", v)
	}
}

// Neither what a caller passed to Set nor what Get returned may alias the
// stored value.
func runCopies(t *testing.T, h Harness) {
	ctx := context.Background()
	s, _ := h.New(t)
	in := []byte("value")
	if err := s.Set(ctx, "k", in, time.Minute); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	out, _, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	out[1] = 'Y'
	again, _, _ := s.Get(ctx, "k")
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

func runConcurrent(t *testing.T, h Harness) {
	const n = 50
	ctx := context.Background()

	t.Run("incr", func(t *testing.T) {
		s, _ := h.New(t)
		got := make([]int64, n)
		parallel(n, func(i int) {
			v, _, err := s.Incr(ctx, "c", 1, time.Minute)
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
		if v, _, _ := s.Get(ctx, "c"); string(v) != fmt.Sprint(n) {
			t.Fatalf("final value %q, want %d", v, n)
		}
	})

	t.Run("compare and delete", func(t *testing.T) {
		s, _ := h.New(t)
		if err := s.Set(ctx, "code", []byte("h"), time.Minute); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		wins := 0
		parallel(n, func(int) {
			ok, err := s.CompareAndDelete(ctx, "code", []byte("h"))
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
		s, _ := h.New(t)
		var mu sync.Mutex
		var winners []int
		parallel(n, func(i int) {
			ok, _, err := s.SetNX(ctx, "lock", []byte(fmt.Sprint(i)), time.Minute)
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
		if v, _, _ := s.Get(ctx, "lock"); string(v) != fmt.Sprint(winners[0]) {
			t.Fatalf("stored %q, winner was %d", v, winners[0])
		}
	})

	t.Run("mixed", func(t *testing.T) {
		// For the race detector: every method on overlapping keys.
		s, _ := h.New(t)
		parallel(n, func(i int) {
			k := fmt.Sprint("k", i%3)
			_ = s.Set(ctx, k, []byte("1"), time.Minute)
			_, _, _ = s.Get(ctx, k)
			_, _, _ = s.Incr(ctx, k, 1, time.Minute)
			_, _, _ = s.SetNX(ctx, k, []byte("2"), time.Minute)
			_, _ = s.CompareAndDelete(ctx, k, []byte("2"))
			_ = s.Delete(ctx, "k0", "k1", "k2")
		})
	})
}
