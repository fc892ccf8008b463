package redis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/internal/caddystorage"
)

// A Redis without persistence that restarts comes back empty: every
// revocation, block and attempt counter is gone, and nothing in Redis says
// so. So the store keeps a marker key in Redis, and this instance
// remembers (in memory, and in Caddy's storage across restarts) which
// marker it saw. A missing or replaced marker means the data was lost:
// that is logged at ERROR, counted in caddy_phone_otp_store_data_lost_total,
// and a new marker records the time of the loss, so that every instance
// sharing the Redis refuses the tokens issued until then (LostBefore).
// Blocks and attempt counters cannot be brought back; they are reported
// lost, not silently reset.

const (
	// markerKey sits under the key prefix. Callers' keys always hold a
	// ':' after their namespace, so it cannot meet one of them.
	markerKey = "marker"
	// markerEvery is how long a confirmed marker is trusted before it is
	// read again; a reconnection to Redis (which a restart forces) makes
	// the next LostBefore read it at once.
	markerEvery = time.Second
	// markerTTL: every key has a TTL. The marker's is renewed when read,
	// so it expires only after months with no phone_otp running, and
	// then reads as a loss: the safe side.
	markerTTL = 180 * 24 * time.Hour
)

// dataLost counts detected losses; a package global registered in each
// config's registry, like the handler's collectors (../metrics.go).
var dataLost = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "caddy", Subsystem: "phone_otp", Name: "store_data_lost_total",
	Help: "Times the store was found to have lost its data (a Redis restarted empty): sessions and devices issued until then are refused, blocks and attempt counters are gone.",
})

// registerDataLost registers dataLost in reg (nil: counts unexposed), or
// returns the equal collector reg already holds.
func registerDataLost(reg *prometheus.Registry) (prometheus.Counter, error) {
	if reg == nil {
		return dataLost, nil
	}
	err := reg.Register(dataLost)
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
		return dataLost, nil
	case errors.As(err, &are):
		if c, ok := are.ExistingCollector.(prometheus.Counter); ok {
			return c, nil
		}
	}
	return nil, fmt.Errorf("metrics: %w", err)
}

// marker is the value of the marker key: a random id, and the Unix second
// of the loss it records (0 for a Redis first marked with nothing lost).
type marker struct {
	id    string
	until int64
}

func (m marker) String() string { return m.id + " " + strconv.FormatInt(m.until, 10) }

func parseMarker(s string) (marker, bool) {
	id, until, ok := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.ParseInt(until, 10, 64)
	if !ok || id == "" || err != nil || n < 0 {
		return marker{}, false
	}
	return marker{id: id, until: n}, true
}

func newMarker(until int64) marker {
	b := make([]byte, 12)
	rand.Read(b)
	return marker{id: hex.EncodeToString(b), until: until}
}

// lossWatch is the Redis store's LostBefore.
type lossWatch struct {
	r     *Redis
	st    caddystorage.Storage // where the marker seen is remembered; nil: nowhere
	stKey string
	lost  prometheus.Counter
	now   func() time.Time

	// The fast path (a marker confirmed less than markerEvery ago, no
	// reconnection since) is three atomic loads.
	until   atomic.Int64 // tokens issued until this Unix second are refused
	checked atomic.Int64 // when the marker was last confirmed, Unix ns
	stale   atomic.Bool  // a new connection since: read the marker again

	mu    sync.Mutex // one marker check at a time; guards known and seen
	known marker     // the marker last seen; id "": none known
	seen  int64      // Unix second known was last confirmed; 0: unknown
}

func newLossWatch(r *Redis, st caddystorage.Storage, lost prometheus.Counter) *lossWatch {
	w := &lossWatch{r: r, st: st, lost: lost, now: time.Now}
	// The storage key names this Redis by what the config says of it, so
	// that a site pointed at another Redis does not mistake it for a loss.
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %q %d %q", r.Address, r.MasterName, r.DB, r.KeyPrefix))
	w.stKey = path.Join("phone_otp", "redis", hex.EncodeToString(sum[:16]))
	w.stale.Store(true)
	if st != nil {
		if b, err := st.Load(context.Background(), w.stKey); err == nil {
			w.known, _ = parseMarker(string(b))
			w.until.Store(w.known.until)
		}
	}
	return w
}

// connected is told of every new connection to Redis: a restarted Redis
// is only reached through one.
func (w *lossWatch) connected() { w.stale.Store(true) }

// LostBefore implements LossDetector.
func (w *lossWatch) LostBefore(ctx context.Context) (int64, error) {
	if w.fresh() {
		return w.until.Load(), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.fresh() {
		if err := w.check(ctx); err != nil {
			return 0, err
		}
	}
	return w.until.Load(), nil
}

func (w *lossWatch) fresh() bool {
	return !w.stale.Load() && w.now().UnixNano()-w.checked.Load() < int64(markerEvery)
}

// check reads the marker and compares it with the one known; w.mu held.
func (w *lossWatch) check(ctx context.Context) error {
	// Cleared before reading, so that a reconnection during the read
	// makes the next call read again.
	w.stale.Store(false)
	start := w.now()
	cur, left, err := w.read(ctx)
	if errors.Is(err, store.ErrNotFound) {
		// Nothing lost if this instance knew of no marker: a new Redis,
		// or one from before markers. Else it is gone with the data.
		m := newMarker(0)
		if w.known.id != "" {
			m.until = start.Unix()
		}
		cur, left, err = w.put(ctx, m)
	}
	if err != nil {
		w.stale.Store(true)
		return err
	}
	if w.known.id != "" && cur.id != w.known.id {
		// Lost, and maybe already marked by another instance. Its record
		// must cover every token this instance revoked before the loss:
		// if it does not (a new instance marked the empty Redis as new),
		// the time of the loss is raised to now.
		if cur.until == 0 || cur.until < w.seen {
			if ok, _ := w.r.CompareAndDelete(ctx, markerKey, []byte(cur.String())); ok {
				if m, l, err := w.put(ctx, marker{id: cur.id, until: start.Unix()}); err == nil {
					cur, left = m, l
				}
			}
			// Whatever another instance did meanwhile, this one
			// refuses what it must.
			w.until.Store(max(w.until.Load(), start.Unix()))
		}
		w.r.health.log().Error("redis store data lost: revocations, blocks and attempt counters are gone; sessions and remembered devices issued until the loss are refused",
			zap.Strings("address", w.r.Address), zap.Time("lost_by", time.Unix(max(cur.until, start.Unix()), 0)))
		w.lost.Inc()
	}
	if left < markerTTL/2 {
		_ = w.r.Set(ctx, markerKey, []byte(cur.String()), markerTTL)
	}
	if cur != w.known {
		if w.known.id == "" && cur.until == 0 {
			w.r.health.log().Info("redis store marked, to detect a loss of its data", zap.Strings("address", w.r.Address))
		}
		w.remember(ctx, cur)
	}
	w.until.Store(max(w.until.Load(), cur.until))
	w.known, w.seen = cur, start.Unix()
	w.checked.Store(start.UnixNano())
	return nil
}

// read returns the marker in Redis; a damaged one reads as absent.
func (w *lossWatch) read(ctx context.Context) (marker, time.Duration, error) {
	v, left, err := w.r.Get(ctx, markerKey)
	if err != nil {
		return marker{}, 0, err
	}
	m, ok := parseMarker(string(v))
	if !ok {
		if err := w.r.Delete(ctx, markerKey); err != nil {
			return marker{}, 0, err
		}
		return marker{}, 0, store.ErrNotFound
	}
	return m, left, nil
}

// put writes m unless another instance wrote a marker first, and returns
// the one that is there.
func (w *lossWatch) put(ctx context.Context, m marker) (marker, time.Duration, error) {
	ok, _, err := w.r.SetNX(ctx, markerKey, []byte(m.String()), markerTTL)
	if err != nil {
		return marker{}, 0, err
	}
	if ok {
		return m, markerTTL, nil
	}
	return w.read(ctx)
}

// remember keeps the marker seen in Caddy's storage, so that a loss that
// happens while Caddy is down is seen when it starts again.
func (w *lossWatch) remember(ctx context.Context, m marker) {
	if w.st == nil {
		return
	}
	if err := w.st.Store(context.WithoutCancel(ctx), w.stKey, []byte(m.String())); err != nil {
		w.r.health.log().Warn("cannot keep the redis store's marker in Caddy's storage: a loss of Redis data while Caddy is down may go unseen",
			zap.String("storage_key", w.stKey), zap.Error(err))
	}
}

// LostBefore implements LossDetector: see lossWatch.
func (r *Redis) LostBefore(ctx context.Context) (int64, error) {
	if r.loss == nil {
		return 0, errRedisUnavailable
	}
	return r.loss.LostBefore(ctx)
}
