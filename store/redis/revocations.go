package redis

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/internal/watchers"
)

// The Redis store pushes revocations through pub/sub: Revoke writes the
// key and publishes it on one channel (sharded pub/sub on a Redis
// Cluster: SPUBLISH and SSUBSCRIBE, which stay on the shard that owns the
// channel), and each instance keeps one subscription, watched closely: a
// dropped connection, an unsubscribe (a slot moved), or no answer to a ping
// within revPingEvery + timeout makes it not live at once, and it stays so
// until it is subscribed again.

const (
	// revChannel, under the key prefix, carries the revocations of the
	// stores that share the prefix (and so share their keys).
	revChannel = "revocations"
	// revPingEvery is how often an idle subscription pings Redis.
	revPingEvery = 250 * time.Millisecond
	// revPoll is the longest the watch waits before it looks at the time.
	revPoll = 50 * time.Millisecond
)

// revWatch is the Redis store's subscription and its watchers.
type revWatch struct {
	r       *Redis
	ws      watchers.Set
	start   sync.Once
	started atomic.Bool
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

func newRevWatch(r *Redis) *revWatch {
	ctx, cancel := context.WithCancel(context.Background())
	return &revWatch{r: r, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// stop ends the subscription and waits for its goroutine (at Cleanup).
func (w *revWatch) stop() {
	w.cancel()
	w.start.Do(func() {}) // no goroutine is started after this
	if w.started.Load() {
		<-w.done
	}
}

func (r *Redis) channel() string { return r.prefix + revChannel }

// Revoke implements Revocations: the key, then the message. On a single
// server or Sentinel both go in one MULTI/EXEC, so a revocation is never
// published without its record nor written without being published; a
// Redis Cluster keeps the key on its own slot, so there the publish
// follows the write.
func (r *Redis) Revoke(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errRedisTTL
	}
	msg := encodeRevocation(key, val, ttl)
	px := time.Duration(millis(ttl)) * time.Millisecond
	err := r.call(ctx, func(ctx context.Context) error {
		if r.cluster {
			if err := r.client.Set(ctx, r.key(key), val, px).Err(); err != nil {
				return err
			}
			return r.client.SPublish(ctx, r.channel(), msg).Err()
		}
		_, err := r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, r.key(key), val, px)
			p.Publish(ctx, r.channel(), msg)
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("store: redis: revoke: %w", err)
	}
	return nil
}

// Subscribe implements Revocations. The first watcher starts the
// subscription; it ends at Cleanup.
func (r *Redis) Subscribe(w store.RevocationWatcher) func() {
	if r.watch == nil {
		w.Live(false)
		return func() {}
	}
	cancel := r.watch.ws.Add(w)
	r.watch.start.Do(func() {
		r.watch.started.Store(true)
		go r.watch.run()
	})
	return cancel
}

// run subscribes, and subscribes again whenever the subscription is lost,
// until stop.
func (w *revWatch) run() {
	defer close(w.done)
	backoff := 10 * time.Millisecond
	for w.ctx.Err() == nil {
		if w.watch() {
			backoff = 10 * time.Millisecond
		}
		// On a cluster the channel's shard may have moved (a failover,
		// a resharding): the client learns the layout anew, or the next
		// SSUBSCRIBE goes to the node that was lost. Not once stopped:
		// the client is being closed.
		if w.ctx.Err() == nil {
			w.r.relearnLayout(w.ctx)
		}
		select {
		case <-w.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
	w.ws.SetLive(false)
}

// watch runs one subscription until it is lost, and reports whether it
// was ever live. A loss of a live subscription is logged at WARN with its
// cause: it costs a store read per request until the next subscription,
// and then one per cached session.
func (w *revWatch) watch() (wasLive bool) {
	var cause error
	defer func() {
		if wasLive && w.ctx.Err() == nil {
			w.r.health.log().Warn("redis revocation subscription lost: sessions are checked in Redis on every request until it is back",
				zap.Strings("address", w.r.Address), zap.Error(cause))
		}
	}()
	r := w.r
	var ps *goredis.PubSub
	if r.cluster {
		ps = r.client.SSubscribe(w.ctx, r.channel())
	} else {
		ps = r.client.Subscribe(w.ctx, r.channel())
	}
	defer ps.Close()
	defer w.ws.SetLive(false)
	heard, pinged := time.Now(), time.Now()
	for {
		msg, err := ps.ReceiveTimeout(w.ctx, revPoll)
		now := time.Now()
		if err != nil {
			// A lost subscription is not logged as an outage: the
			// store calls that every request now makes find out,
			// and log it once, if Redis is down.
			if w.ctx.Err() != nil || !isTimeout(err) {
				cause = err
				return wasLive
			}
			if now.Sub(heard) > revPingEvery+r.timeout {
				cause = fmt.Errorf("nothing heard for %v (a ping every %v, timeout %v)", now.Sub(heard).Round(time.Millisecond), revPingEvery, r.timeout)
				return wasLive
			}
			if now.Sub(pinged) >= revPingEvery && now.Sub(heard) >= revPingEvery {
				if err := ps.Ping(w.ctx); err != nil {
					cause = err
					return wasLive
				}
				pinged = now
			}
			continue
		}
		heard = now
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind != "subscribe" && m.Kind != "ssubscribe" {
				cause = fmt.Errorf("redis said %s (a slot moved?)", m.Kind)
				return wasLive
			}
			wasLive = true
			w.ws.SetLive(true)
		case *goredis.Message:
			if key, val, ttl, ok := decodeRevocation(m.Payload); ok {
				w.ws.Revoked(key, val, ttl)
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// encodeRevocation is the message: the TTL in ms, the value in base64,
// and the key, which comes last and so may hold anything.
func encodeRevocation(key string, val []byte, ttl time.Duration) string {
	return strconv.FormatInt(millis(ttl), 10) + " " + base64.RawStdEncoding.EncodeToString(val) + " " + key
}

func decodeRevocation(msg string) (string, []byte, time.Duration, bool) {
	ms, rest, ok1 := strings.Cut(msg, " ")
	v, key, ok2 := strings.Cut(rest, " ")
	n, err1 := strconv.ParseInt(ms, 10, 64)
	val, err2 := base64.RawStdEncoding.DecodeString(v)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || n <= 0 || key == "" {
		return "", nil, 0, false
	}
	return key, val, time.Duration(n) * time.Millisecond, true
}

// Interface guard
var _ store.Revocations = (*Redis)(nil)
