package memory

import (
	"context"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store/storetest"
)

// TestMemoryRevocations: the memory store's watchers are live at once,
// hear every revocation made through the same cache before Revoke
// returns (with the record written), and stop hearing when cancelled; a
// store with a cache of its own is another world.
func TestMemoryRevocations(t *testing.T) {
	m := New(nil)
	t.Cleanup(func() { m.Cleanup() })
	other := New(nil)
	t.Cleanup(func() { other.Cleanup() })
	rec, recOther := &storetest.Recorder{}, &storetest.Recorder{}
	cancel := m.Subscribe(rec)
	other.Subscribe(recOther)
	if live, ups, _, _ := rec.State(); !live || ups != 1 {
		t.Fatalf("live %v after %d ups, want live at once", live, ups)
	}
	ctx := context.Background()
	if err := m.Revoke(ctx, "ns:rev:a", []byte{1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, _, got := rec.State(); len(got) != 1 || got[0] != "ns:rev:a=\x01" || rec.LastTTL() != time.Minute {
		t.Fatalf("heard %q (ttl %v), want the revocation", got, rec.LastTTL())
	}
	if v, _, err := m.Get(ctx, "ns:rev:a"); err != nil || string(v) != "\x01" {
		t.Errorf("the record: %q %v", v, err)
	}
	if _, _, _, got := recOther.State(); len(got) != 0 {
		t.Errorf("another cache's watcher heard %q", got)
	}
	cancel()
	cancel() // twice is harmless
	if err := m.Revoke(ctx, "ns:rev:b", []byte{1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, _, got := rec.State(); len(got) != 1 {
		t.Errorf("a cancelled watcher heard %q", got)
	}
	if n := m.mem.watchers.Count(); n != 0 {
		t.Errorf("%d watchers left after cancel", n)
	}
	if err := m.Revoke(ctx, "ns:rev:c", []byte{1}, 0); err == nil {
		t.Error("a revocation with no TTL was accepted")
	}
}
