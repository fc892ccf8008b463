package store

import (
	"context"
	"sync"
	"time"
)

// Revocations is implemented by stores that push revocations to every
// instance sharing them, so that a session verified once need not be
// checked in the store again: the memory store delivers them in the
// process, the Redis store through pub/sub (sharded pub/sub on a Redis
// Cluster). It is optional: with a store that lacks it, a cached session
// is re-checked in the store at most once a second.
type Revocations interface {
	// Revoke writes val under key for ttl through the store's durable
	// view (as Durably(st).Set), and then publishes it to every
	// subscriber of every instance sharing the store, this one's
	// included. An error means the revocation may not be written or not
	// published, and the caller must say so.
	Revoke(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Subscribe registers w until the returned function is called. w's
	// Live(true) is called when the subscription is in place (at once if
	// it already is): from then on every revocation published is passed
	// to Revoked, until Live(false), which is called as soon as the
	// subscription is lost or in doubt (a dropped connection, no answer to
	// a ping, a failover). A revocation published between the two may be
	// missed: it is in the store, where the watcher must look until the
	// next Live(true).
	Subscribe(w RevocationWatcher) (cancel func())
}

// RevocationWatcher receives what a Revocations store pushes. Its methods
// are called from one goroutine at a time per store, and must not block.
type RevocationWatcher interface {
	// Revoked is a key written by Revocations.Revoke on some instance.
	Revoked(key string, val []byte, ttl time.Duration)
	// Live reports whether every revocation published from now on will
	// reach Revoked.
	Live(up bool)
}

// watchers is a set of RevocationWatchers and the state of the
// subscription they share.
type watchers struct {
	mu   sync.Mutex
	set  map[*watcherRef]struct{}
	live bool
}

// watcherRef gives each Subscribe its own identity, so that one watcher
// subscribed twice is cancelled once per Subscribe.
type watcherRef struct{ w RevocationWatcher }

func (ws *watchers) add(w RevocationWatcher) func() {
	ref := &watcherRef{w}
	ws.mu.Lock()
	if ws.set == nil {
		ws.set = make(map[*watcherRef]struct{})
	}
	ws.set[ref] = struct{}{}
	if ws.live {
		w.Live(true)
	}
	ws.mu.Unlock()
	return sync.OnceFunc(func() {
		ws.mu.Lock()
		delete(ws.set, ref)
		ws.mu.Unlock()
	})
}

func (ws *watchers) count() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return len(ws.set)
}

// setLive tells every watcher of a change of state; no change, no call.
func (ws *watchers) setLive(up bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.live == up {
		return
	}
	ws.live = up
	for ref := range ws.set {
		ref.w.Live(up)
	}
}

func (ws *watchers) revoked(key string, val []byte, ttl time.Duration) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for ref := range ws.set {
		ref.w.Revoked(key, val, ttl)
	}
}

// Revoke implements Revocations for the memory store: the durable write,
// then every watcher in the process (every site sharing the cache) is
// told before Revoke returns.
func (m *Memory) Revoke(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := m.Durable().Set(ctx, key, val, ttl); err != nil {
		return err
	}
	if m.mem != nil {
		m.mem.watchers.revoked(key, val, ttl)
	}
	return nil
}

// Subscribe implements Revocations: the memory store is never out of
// touch with itself, so w is live at once and stays so.
func (m *Memory) Subscribe(w RevocationWatcher) func() {
	if m.mem == nil {
		return func() {}
	}
	m.mem.watchers.setLive(true)
	return m.mem.watchers.add(w)
}

// Interface guard
var _ Revocations = (*Memory)(nil)
