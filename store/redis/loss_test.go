package redis

import (
	"context"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyotp/caddyotp/internal/fake"
	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/internal/caddystorage"
	"github.com/caddyotp/caddyotp/store/storetest"
)

// watched is a Redis store on addr whose loss watch remembers its marker
// in st (nil: nowhere), logs to the returned observer and counts losses
// in its own counter.
type watched struct {
	r    *Redis
	logs *observer.ObservedLogs
	lost prometheus.Counter
	clk  *fake.Clock
}

func newWatched(t *testing.T, addr, prefix string, st caddystorage.Storage) *watched {
	t.Helper()
	// A client of its own: each is another Caddy process.
	r := &Redis{Address: []string{addr}, KeyPrefix: prefix, Timeout: caddy.Duration(500 * time.Millisecond), own: true}
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	w := &watched{r: r, logs: logs, lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "lost"}), clk: fake.ClockAt(time.Now())}
	r.loss = newLossWatch(r, st, w.lost)
	r.health = newHealth(zap.New(core), r.Address)
	r.loss.now = w.clk.Now
	return w
}

func (w *watched) lostBefore(t *testing.T) int64 {
	t.Helper()
	// A call first, as a session check makes its revocation reads first:
	// it is what reconnects.
	if _, _, err := w.r.Get(context.Background(), "ns:rev:x"); err != nil && err != store.ErrNotFound {
		t.Fatal(err)
	}
	until, err := w.r.LostBefore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return until
}

func (w *watched) errors() int { return w.logs.FilterLevelExact(zapcore.ErrorLevel).Len() }

func TestRedisLossDetected(t *testing.T) {
	srv := redistest.Start(t)
	st := storetest.NewMapStorage()
	w := newWatched(t, srv.Addr, "loss:", st)
	if until := w.lostBefore(t); until != 0 {
		t.Fatalf("fresh Redis: LostBefore = %d, want 0", until)
	}
	if w.logs.FilterMessageSnippet("marked").Len() != 1 || w.errors() != 0 {
		t.Errorf("fresh Redis: logs %v, want one INFO line marking it", w.logs.All())
	}

	// Connections dropped, data kept: no loss.
	if _, err := srv.Do("CLIENT", "KILL", "TYPE", "normal"); err != nil {
		t.Fatal(err)
	}
	if until := w.lostBefore(t); until != 0 || w.errors() != 0 {
		t.Fatalf("after a reconnection with the data intact: LostBefore = %d, %d errors; want 0, 0", until, w.errors())
	}

	srv.Stop()
	srv.Restart()
	at := w.clk.Now().Unix()
	if until := w.lostBefore(t); until != at {
		t.Errorf("after Redis restarted empty: LostBefore = %d, want %d (now)", until, at)
	}
	if w.errors() != 1 || testutil.ToFloat64(w.lost) != 1 {
		t.Errorf("loss: %d ERROR lines, counter %v; want 1, 1", w.errors(), testutil.ToFloat64(w.lost))
	}
	// Once only.
	w.clk.Step(2 * markerEvery)
	if until := w.lostBefore(t); until != at || w.errors() != 1 || testutil.ToFloat64(w.lost) != 1 {
		t.Errorf("next check: LostBefore %d, %d errors, counter %v; want %d, 1, 1", until, w.errors(), testutil.ToFloat64(w.lost), at)
	}
}

// A Redis that lost its data while Caddy was down: the marker Caddy's
// storage remembers is gone.
func TestRedisLossWhileCaddyDown(t *testing.T) {
	srv := redistest.Start(t)
	st := storetest.NewMapStorage()
	newWatched(t, srv.Addr, "down:", st).lostBefore(t)
	srv.Stop()
	srv.Restart()
	w := newWatched(t, srv.Addr, "down:", st)
	if until := w.lostBefore(t); until != w.clk.Now().Unix() || w.errors() != 1 {
		t.Errorf("started after the loss: LostBefore %d, %d errors; want now, 1", until, w.errors())
	}
	// Another storage (another machine) has nothing to compare with.
	other := newWatched(t, srv.Addr, "down:", storetest.NewMapStorage())
	if until := other.lostBefore(t); until != w.clk.Now().Unix() || other.errors() != 0 {
		t.Errorf("an instance that knew no marker: LostBefore %d, %d errors; want the recorded loss, 0", until, other.errors())
	}
}

// An instance that knew no marker finds the empty Redis first and marks
// it as new; one that knew the old marker raises the record to the loss,
// and the first learns it at its next check.
func TestRedisLossMarkedNewByAnother(t *testing.T) {
	srv := redistest.Start(t)
	a := newWatched(t, srv.Addr, "race:", storetest.NewMapStorage())
	a.lostBefore(t)
	srv.Stop()
	srv.Restart()
	b := newWatched(t, srv.Addr, "race:", nil)
	if until := b.lostBefore(t); until != 0 {
		t.Fatalf("new instance on the empty Redis: LostBefore %d, want 0", until)
	}
	at := a.clk.Now().Unix()
	if until := a.lostBefore(t); until != at || a.errors() != 1 {
		t.Errorf("old instance: LostBefore %d, %d errors; want %d, 1", until, a.errors(), at)
	}
	b.clk.Step(2 * markerEvery)
	if until := b.lostBefore(t); until != at {
		t.Errorf("new instance, next check: LostBefore %d, want %d", until, at)
	}
}
