package session

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// With a store that pushes revocations (store.Revocations), a cached
// session is not checked in the store again while the subscription is
// live: every revocation made on any instance reaches pushed, which keeps
// it until the record it mirrors expires, and bumps gen. A cached session
// that saw the current gen is passed on two atomic loads; one that did not
// is checked against what was pushed (no store call), and against the
// store only if it was last checked there before the current subscription
// began (epoch): the revocations published while no subscription was
// live are only in the store. While the subscription is not live, every
// request checks the store, as it must.
type pushed struct {
	ns  string
	now func() time.Time

	gen   atomic.Uint64 // bumped by every revocation pushed and every change of live
	live  atomic.Bool   // subscribed: every revocation from now on is pushed
	epoch atomic.Uint64 // bumped at every (re)subscription

	mu      sync.Mutex
	jtis    map[string]int64    // jti → when its record expires, unix ns
	phones  map[string]phoneRev // phone → its "issued until" record
	pruneAt int                 // prune the maps when they hold this many

	cancel func()
}

type phoneRev struct {
	until  int64 // Unix second: sessions issued until then are revoked
	forget int64 // when the record expires, unix ns
}

const minPruneAt = 1024

func newPushed(ns string, now func() time.Time) *pushed {
	p := &pushed{ns: ns, now: now, jtis: map[string]int64{}, phones: map[string]phoneRev{}, pruneAt: minPruneAt}
	p.gen.Store(1) // a new Verified's seen, 0, never matches
	return p
}

// Revoked implements store.RevocationWatcher: a key that Sessions.Revoke
// or RevokePhone wrote, on this instance or another.
func (p *pushed) Revoked(key string, val []byte, ttl time.Duration) {
	rest, ok := strings.CutPrefix(key, p.ns+":")
	if !ok {
		return // another protection domain's
	}
	now := p.now().UnixNano()
	forget := now + int64(ttl)
	p.mu.Lock()
	if jti, ok := strings.CutPrefix(rest, "rev:"); ok {
		p.jtis[jti] = max(p.jtis[jti], forget)
	} else if phone, ok := strings.CutPrefix(rest, "revphone:"); ok {
		until, err := strconv.ParseInt(string(val), 10, 64)
		if err != nil {
			until = math.MaxInt64 // as revokedSince reads a damaged record
		}
		old := p.phones[phone]
		p.phones[phone] = phoneRev{until: max(old.until, until), forget: max(old.forget, forget)}
	} else {
		p.mu.Unlock()
		return
	}
	if len(p.jtis)+len(p.phones) >= p.pruneAt {
		p.prune(now)
	}
	p.mu.Unlock()
	p.gen.Add(1)
}

// prune drops the records that have expired in the store too; p.mu held.
// It runs when the maps have doubled since the last prune, so its cost
// per revocation stays constant.
func (p *pushed) prune(now int64) {
	for k, t := range p.jtis {
		if t <= now {
			delete(p.jtis, k)
		}
	}
	for k, r := range p.phones {
		if r.forget <= now {
			delete(p.phones, k)
		}
	}
	p.pruneAt = max(minPruneAt, 2*(len(p.jtis)+len(p.phones)))
}

// Live implements store.RevocationWatcher.
func (p *pushed) Live(up bool) {
	if up {
		p.epoch.Add(1) // before live: who sees live sees the new epoch
	}
	p.live.Store(up)
	p.gen.Add(1)
}

// revoked reports whether what was pushed revokes c.
func (p *pushed) revoked(c *Claims) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.jtis[c.ID]; ok {
		return true
	}
	r, ok := p.phones[c.Subject]
	return ok && (c.IssuedAt == nil || c.IssuedAt.Unix() <= r.until)
}

// size is how many pushed records are kept (tests).
func (p *pushed) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.jtis) + len(p.phones)
}

// Close ends the subscription to the store's revocations (at the
// handler's Cleanup) if s has its Shared to itself (New). The Sessions
// still work, checking the store.
func (s *Sessions) Close() {
	if s.own {
		s.shared.Close()
	}
}

// revoke writes a revocation record: pushed to every instance when the
// store can, and taken into account here at once either way.
func (s *Sessions) revoke(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if rv, ok := s.store.(store.Revocations); ok && s.push != nil {
		if err := rv.Revoke(ctx, key, val, ttl); err != nil {
			return err
		}
		s.push.Revoked(key, val, ttl)
		return nil
	}
	return store.Durably(s.store).Set(ctx, key, val, ttl)
}

// recheck is Lookup's slow path for a cached session with a push-capable
// store, entered when v has not seen gen g: the store if v was last
// checked there before this subscription (or none is live), then what was
// pushed.
func (s *Sessions) recheck(ctx context.Context, v *Verified, g uint64) error {
	p := s.push
	live := p.live.Load()
	e := p.epoch.Load()
	if !live || v.epoch.Load() != e {
		if err := s.checkRevoked(ctx, v.Claims); err != nil {
			return err
		}
		v.epoch.Store(e)
	}
	if p.revoked(v.Claims) {
		return ErrRevoked
	}
	if live {
		v.seen.Store(g)
	}
	return nil
}
