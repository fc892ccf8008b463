// Package watchers is the set of revocation watchers that the memory and
// Redis stores keep, with the state of the subscription they share.
package watchers

import (
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// Set is a set of store.RevocationWatchers and the state of the
// subscription they share.
type Set struct {
	mu   sync.Mutex
	set  map[*watcherRef]struct{}
	live bool
}

// watcherRef gives each Subscribe its own identity, so that one watcher
// subscribed twice is cancelled once per Subscribe.
type watcherRef struct{ w store.RevocationWatcher }

// Add subscribes w until the returned function is called; w is told at
// once if the subscription is live.
func (ws *Set) Add(w store.RevocationWatcher) func() {
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

// Count is how many watchers are subscribed.
func (ws *Set) Count() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return len(ws.set)
}

// SetLive tells every watcher of a change of state; no change, no call.
func (ws *Set) SetLive(up bool) {
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

// Revoked passes a revocation to every watcher.
func (ws *Set) Revoked(key string, val []byte, ttl time.Duration) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for ref := range ws.set {
		ref.w.Revoked(key, val, ttl)
	}
}
