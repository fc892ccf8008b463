package session

import (
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"

	"github.com/caddyotp/caddyotp/store"
)

// Shared is what the sessions of one protection domain keep across a
// config reload: the cache of verified sessions, the subscription to the
// store's revocations with what it pushed, and the store checks under way.
// A reload that keeps the domain, its key, its issuer and its store hands
// the new config's Sessions the old one's Shared (the handler keeps it in
// a caddy.UsagePool), so the sessions verified before it cost no store
// call after it: each is admitted again under the new config's rules, in
// memory (Sessions.Lookup). Revocations made during the reload are not
// missed: the subscription never stops.
//
// Whoever shares one must agree on all four: a session cached by one
// passes in the other without its signature being checked again.
type Shared struct {
	cache  *cache
	push   *pushed // nil: the store does not push revocations
	flight singleflight.Group
	cancel func()
}

// NewShared makes the shared state of protection domain ns on st, and
// subscribes to st's revocations if st pushes them; Close ends that.
func NewShared(st store.Store, ns string, now func() time.Time) *Shared {
	sh := &Shared{cache: newCache(maxBuckets)}
	if rv, ok := st.(store.Revocations); ok {
		sh.push = newPushed(ns, now)
		sh.cancel = rv.Subscribe(sh.push)
	}
	return sh
}

// generations numbers the Sessions made, so that each tells its own
// admissions from another config's.
var generations atomic.Uint64

// Sessions returns the sessions of one config over sh: signed with key (the
// secret itself: see Keys) by issuer, for ttl, kept for revocation in st,
// for protection domain ns (sh's).
func (sh *Shared) Sessions(key []byte, issuer string, ttl time.Duration, st store.Store, ns string, now func() time.Time) *Sessions {
	return &Sessions{
		key: key, issuer: issuer, ttl: ttl, store: st, ns: ns, now: now,
		parser: tokenParser(issuer, now, jwt.WithIssuedAt(), jwt.WithAudience(ns)),
		aud:    jwt.ClaimStrings{ns},
		shared: sh,
		gen:    generations.Add(1),
		cache:  sh.cache,
		push:   sh.push,
	}
}

// Close ends the subscription to the store's revocations (when the last
// config using sh is cleaned up). Sessions over sh still work, checking
// the store.
func (sh *Shared) Close() {
	if sh.push != nil && sh.cancel != nil {
		sh.cancel()
		sh.push.Live(false)
	}
}

// Destruct is Close, for a caddy.UsagePool.
func (sh *Shared) Destruct() error {
	sh.Close()
	return nil
}
