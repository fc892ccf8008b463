package memory

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyotp/caddyotp/store/storetest"
)

// TestMemoryMarker: a storage with the marker is trusted; one without it
// refuses every token issued until the start, at INFO when the storage is
// plainly empty and at ERROR when it holds entries without their marker;
// the first token refused for it is an ERROR once.
func TestMemoryMarker(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	ctx := context.Background()
	tests := []struct {
		name      string
		prepare   func(st *storetest.MapStorage)
		entries   int
		wantLost  int64
		wantLevel zapcore.Level
	}{
		{"first start, or a wiped storage", func(*storetest.MapStorage) {}, 0, start.Unix(), zapcore.InfoLevel},
		{"entries without their marker", func(st *storetest.MapStorage) {
			(&disk{st: st}).keep(ctx, "ns:rev:x", []byte{1}, start.Add(time.Hour))
		}, 1, start.Unix(), zapcore.ErrorLevel},
		{"marker kept", func(st *storetest.MapStorage) { st.Store(ctx, diskMarkerKey, []byte(`{}`)) }, 0, 0, 0},
	}
	for _, tt := range tests {
		st := storetest.NewMapStorage()
		tt.prepare(st)
		core, logs := observer.New(zapcore.DebugLevel)
		m := startMemory(t, st, func() time.Time { return start })
		m.logger = zap.New(core)
		lost, err := m.disk.checkMarker(ctx, start, tt.entries, m.logger)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		m.mem.lostBefore = lost
		if got, _ := m.LostBefore(ctx); got != tt.wantLost {
			t.Errorf("%s: LostBefore %d, want %d", tt.name, got, tt.wantLost)
		}
		if _, err := st.Load(ctx, diskMarkerKey); err != nil {
			t.Errorf("%s: no marker written: %v", tt.name, err)
		}
		switch {
		case tt.wantLost == 0 && logs.Len() != 0:
			t.Errorf("%s: logged %v with the marker kept", tt.name, logs.All())
		case tt.wantLost != 0 && (logs.Len() != 1 || logs.All()[0].Level != tt.wantLevel):
			t.Errorf("%s: logged %v, want one line at %v", tt.name, logs.All(), tt.wantLevel)
		}
		if tt.wantLost == 0 {
			continue
		}
		m.LossSeen()
		m.LossSeen()
		if n := logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessageSnippet("was refused").Len(); n != 1 {
			t.Errorf("%s: %d ERROR lines for refused tokens, want one", tt.name, n)
		}
	}
	// A second start on the same storage trusts it.
	st := storetest.NewMapStorage()
	d := &disk{st: st}
	if _, err := d.checkMarker(ctx, start, 0, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	if lost, err := d.checkMarker(ctx, start.Add(time.Minute), 0, zap.NewNop()); lost != 0 || err != nil {
		t.Errorf("restart on a kept storage: lost before %d, %v", lost, err)
	}
}
