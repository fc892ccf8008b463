package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// health turns the results of store calls into two log lines per outage:
// one at ERROR, with the cause, when Redis stops answering, and one at
// INFO when it answers again. During an outage every request fails (and
// is answered 503), so logging per request would bury the cause under
// thousands of copies of it.
type health struct {
	logger atomic.Pointer[zap.Logger] // the newest config's: setLogger
	addrs  []string
	down   atomic.Bool
	// since is when the current outage began, in Unix nanoseconds; only
	// for the "back" line.
	since atomic.Int64
	// back is when the last outage ended, Unix ns: a call that failed
	// but began before then tells of the outage that ended, not of a
	// new one (calls run side by side, and one that met the dead Redis
	// may be told after one that met the restarted one).
	back atomic.Int64
}

func newHealth(logger *zap.Logger, addrs []string) *health {
	h := &health{addrs: addrs}
	h.logger.Store(logger)
	return h
}

// log is the logger of the newest config using the store.
func (h *health) log() *zap.Logger { return h.logger.Load() }

// setLogger makes a reload's config's logger the store's: the client, and
// with it these lines, outlive the config that made it.
func (h *health) setLogger(l *zap.Logger) { h.logger.Store(l) }

// settleAfterBack is how long after Redis is back a failure is not taken
// for a new outage: go-redis's pool, once as many dials as its size have
// failed, answers with the last dial's error without dialing, and dials
// again in the background once a second, so a few calls after the first
// one through still fail with the outage's error. Requests fail closed
// all the same; only the log line of a real new outage comes up to this
// much later.
const settleAfterBack = time.Second

// observe records the result of one call, begun at start (Unix ns). Any
// answer from Redis, an error reply about the data included, means it is
// up.
func (h *health) observe(err error, start int64) {
	if err != nil && isOutage(err) {
		if back := h.back.Load(); start < back || time.Now().UnixNano()-back < int64(settleAfterBack) {
			return // older than the recovery, or go-redis's echo of it
		}
		if h.down.CompareAndSwap(false, true) {
			h.since.Store(time.Now().UnixNano())
			h.log().Error("redis store unavailable: sends, verifies and protected requests get 503 until it is back",
				zap.Strings("address", h.addrs), zap.Error(err))
		}
		return
	}
	// The hot path, with Redis up, is this one atomic load.
	if h.down.Load() && h.down.CompareAndSwap(true, false) {
		h.back.Store(time.Now().UnixNano())
		h.log().Info("redis store is back",
			zap.Strings("address", h.addrs),
			zap.Duration("outage", time.Since(time.Unix(0, h.since.Load())).Round(time.Millisecond)))
	}
}

// outageReplies are error replies that mean Redis cannot serve now (still
// loading, a replica, no quorum, out of memory, refusing our credentials),
// as opposed to replies about the request itself.
var outageReplies = []string{
	"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY",
	"NOAUTH", "WRONGPASS", "NOPERM", "MISCONF", "OOM", "NOREPLICAS", "MAXCLIENTS",
}

// isOutage tells a failure to reach or hear from Redis (refused, reset,
// timed out, closed) from an answer: redis.Nil and error replies about
// the data (WRONGTYPE, a non-integer counter) are answers.
func isOutage(err error) bool {
	if errors.Is(err, goredis.Nil) {
		return false
	}
	var reply goredis.Error
	if !errors.As(err, &reply) {
		return true
	}
	msg := strings.TrimPrefix(reply.Error(), "ERR ")
	for _, p := range outageReplies {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// call runs op with the store's deadline and records the outcome.
func (r *Redis) call(ctx context.Context, op func(context.Context) error) error {
	if r.client == nil {
		return errRedisUnavailable
	}
	start := time.Now().UnixNano()
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	err := op(cctx)
	if err != nil && (ctx.Err() != nil || errors.Is(err, goredis.ErrClosed)) {
		// The visitor went away, or a request outlived its config's
		// Cleanup: neither says anything about Redis.
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %v: %w", r.timeout, err)
	}
	r.health.observe(err, start)
	if err != nil && isOutage(err) {
		r.relearnLayout(ctx)
	}
	return err
}

// relearnLayout has a cluster client ask for the cluster's layout again
// after a node failed it: a master that died (a refused dial, a timeout)
// says nothing the client hears of its replica's promotion, and go-redis
// would go on dialing it until its own refresh of the layout, a minute
// on by default (ClusterStateReloadInterval). One reload at
// a time, in the background; a single server or Sentinel has nothing to
// learn (Sentinel's client follows the master itself).
func (r *Redis) relearnLayout(ctx context.Context) {
	if cc, ok := r.client.(*goredis.ClusterClient); ok {
		cc.ReloadState(ctx)
	}
}

var errRedisUnavailable = errors.New("store: redis: not provisioned")

// routeRedisLogs sends go-redis's own log lines, which it writes to stderr
// and repeats on every failed dial, to Caddy's log at DEBUG: the outage
// is already logged once by health. go-redis has one logger per process.
var routeRedisLogs = sync.OnceFunc(func() {
	goredis.SetLogger(redisLogger{})
})

type redisLogger struct{}

func (redisLogger) Printf(_ context.Context, format string, v ...any) {
	caddy.Log().Named("redis").Debug(fmt.Sprintf(format, v...))
}
