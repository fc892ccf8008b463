package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/store"
)

// TestMemoryUnprovisioned checks that a Memory that was never provisioned
// fails closed, with no panic. The behaviour every store shares is in
// storetest, run by conformance_test.go.
func TestMemoryUnprovisioned(t *testing.T) {
	ctx := context.Background()
	var zero Memory // never provisioned: fails closed, no panic
	if _, _, err := zero.Get(ctx, "k"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("unprovisioned Get: %v", err)
	}
	if err := zero.Set(ctx, "k", nil, time.Minute); err == nil {
		t.Error("unprovisioned Set: no error")
	}
	if _, _, err := zero.Hit(ctx, "k", 1, time.Minute, 0); err == nil {
		t.Error("unprovisioned Hit: no error")
	}
	if err := zero.Unhit(ctx, "k"); err == nil {
		t.Error("unprovisioned Unhit: no error")
	}
	if _, err := zero.Keys(ctx, ""); err == nil {
		t.Error("unprovisioned Keys: no error")
	}
	if _, _, err := zero.Window(ctx, "w"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("unprovisioned Window: %v", err)
	}
	if err := zero.Cleanup(); err != nil {
		t.Errorf("unprovisioned Cleanup: %v", err)
	}
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
	if _, _, err := fresh.Get(ctx, "pending"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("state survived the last cleanup: %v", err)
	}
}

func TestMemoryModule(t *testing.T) {
	if id := (Memory{}).CaddyModule().ID; id != "http.handlers.phone_otp.store.memory" {
		t.Fatalf("module ID %q", id)
	}
	mod, err := caddy.GetModule(store.Namespace + ".memory")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mod.New().(store.Store); !ok {
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
	m := New(nil)
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
	m := New(nil)
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
		m := New(nil)
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
