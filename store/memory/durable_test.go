package memory

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fake"
	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/internal/caddystorage"
	"github.com/caddyotp/caddyotp/store/storetest"
)

// startMemory makes a memory store on st, as a new process would: an
// empty cache that loads what st kept.
func startMemory(t *testing.T, st caddystorage.Storage, now func() time.Time) *Memory {
	t.Helper()
	mc := newMemCache(now)
	m := &Memory{mem: mc, disk: &disk{st: st}}
	if err := m.disk.load(context.Background(), mc.now(), func(key string, val []byte, ttl time.Duration) {
		m.store(key, val, ttl, true)
	}); err != nil {
		mc.Destruct()
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Destruct() })
	return m
}

func TestMemoryDurableAcrossRestart(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewMapStorage()
	c := fake.NewClock()
	m := startMemory(t, st, c.Now)
	d := store.Durably(m)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.Set(ctx, "ns:rev:a", []byte{1}, time.Hour))
	must(m.Set(ctx, "ns:code", []byte("not kept"), time.Hour))
	_, _, err := d.SetNX(ctx, "ns:block:+1", []byte{1}, 15*time.Minute)
	must(err)
	_, _, err = d.Incr(ctx, "ns:att:+1", 1, 15*time.Minute)
	must(err)
	// Durability sticks to the key: a plain Incr of it is kept too.
	_, _, err = m.Incr(ctx, "ns:att:+1", 1, 15*time.Minute)
	must(err)
	must(d.Set(ctx, "ns:rev:deleted", []byte{1}, time.Hour))
	must(m.Delete(ctx, "ns:rev:deleted"))
	must(d.Set(ctx, "ns:rev:short", []byte{1}, time.Minute))
	must(d.Set(ctx, "ns:rev:cad", []byte("x"), time.Hour))
	if ok, err := m.CompareAndDelete(ctx, "ns:rev:cad", []byte("x")); !ok || err != nil {
		t.Fatalf("CompareAndDelete: %v %v", ok, err)
	}
	if _, _, err := d.Hit(ctx, "ns:p:+1", 5, time.Hour, 0); err != nil {
		t.Fatal(err)
	}

	c.Step(10 * time.Minute)
	m2 := startMemory(t, st, c.Now)
	for _, tc := range []struct {
		key, val string
		left     time.Duration // 0: absent
	}{
		{"ns:rev:a", "\x01", 50 * time.Minute},
		{"ns:block:+1", "\x01", 5 * time.Minute},
		{"ns:att:+1", "2", 5 * time.Minute},
		{"ns:code", "", 0},
		{"ns:rev:deleted", "", 0},
		{"ns:rev:short", "", 0},
		{"ns:rev:cad", "", 0},
		{"ns:p:+1", "", 0},
	} {
		v, left, err := m2.Get(ctx, tc.key)
		if tc.left == 0 {
			if err != store.ErrNotFound {
				t.Errorf("%s after restart: %q %v, want absent", tc.key, v, err)
			}
			continue
		}
		if err != nil || string(v) != tc.val || left != tc.left {
			t.Errorf("%s after restart: %q %v %v, want %q %v", tc.key, v, left, err, tc.val, tc.left)
		}
	}
	// The expired one was removed from the storage at start-up; the rest
	// are the three live ones.
	if names, _ := st.List(ctx, diskPrefix, false); len(names) != 3 {
		t.Errorf("storage holds %d entries, want 3", len(names))
	}
}

func TestMemoryDurableDamaged(t *testing.T) {
	st := storetest.NewMapStorage()
	st.Store(context.Background(), diskPrefix+"/0123", []byte("{not json"))
	err := (&disk{st: st}).load(context.Background(), time.Now(), func(string, []byte, time.Duration) {})
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("load of a damaged entry: %v, want an error naming it damaged", err)
	}
}

// A Memory without storage (New) has a durable view that is just
// the store.
func TestMemoryDurableWithoutStorage(t *testing.T) {
	m := New(nil)
	defer m.Cleanup()
	if err := store.Durably(m).Set(context.Background(), "k", []byte{1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Get(context.Background(), "k"); err != nil {
		t.Errorf("Get after a durable Set: %v", err)
	}
}
