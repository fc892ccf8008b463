package caddyotp

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/sms"
)

// revalidateEvery is how stale a cached session's revocation check may
// get. A session revoked anywhere (another instance sharing the store
// included) stops working everywhere within this time plus one request.
const revalidateEvery = time.Second

// maxCachedPerShard bounds the cache: past it a shard starts afresh, which
// only costs its sessions one full verification each.
const maxCachedPerShard = 1 << 14

// verified is a session that passed full verification (signature,
// algorithm, issuer, times) and a revocation check at checked.
type verified struct {
	claims  *claims
	exp     int64                  // unix nanoseconds
	checked atomic.Int64           // unix nanoseconds of the last revocation check
	header  []string               // {phone}, len == cap so an append elsewhere copies
	phone   any                    // the phone, boxed once for the replacer
	masked  any                    // the phone masked, for the placeholders once the response is done
	renewed atomic.Pointer[string] // the token that slid idle_timeout on

	// placeholders answers {http.auth.user.id} and {http.auth.user.phone}.
	// Caddy asks its replacer's static values first, so an earlier auth
	// handler's user id wins, as the SPEC wants; and adding a provider
	// built once per session costs a request nothing, where setting static
	// values grows a fresh map on every request.
	placeholders caddy.ReplacerFunc
}

func newVerified(c *claims, now time.Time) *verified {
	v := &verified{
		claims: c,
		exp:    c.ExpiresAt.Time.UnixNano(),
		header: []string{c.Subject}[:1:1],
		phone:  c.Subject,
		masked: sms.MaskPhone(c.Subject),
	}
	v.placeholders = func(key string) (any, bool) {
		switch key {
		case "http.auth.user.id", "http.auth.user.phone":
			return v.phone, true
		}
		return nil, false
	}
	v.checked.Store(now.UnixNano())
	return v
}

// sessionCache maps a whole token to its verification, so that a request
// with a known token skips base64, JSON and HMAC work. Only tokens that
// passed full verification are ever stored, and the key is the whole
// token, so a cache hit proves exactly what verification proved.
type sessionCache struct {
	seed   maphash.Seed
	shards [32]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*verified
}

func newSessionCache() *sessionCache {
	return &sessionCache{seed: maphash.MakeSeed()}
}

func (c *sessionCache) shard(token string) *cacheShard {
	return &c.shards[maphash.String(c.seed, token)%uint64(len(c.shards))]
}

func (c *sessionCache) get(token string) *verified {
	s := c.shard(token)
	s.mu.RLock()
	v := s.m[token]
	s.mu.RUnlock()
	return v
}

func (c *sessionCache) put(token string, v *verified) {
	s := c.shard(token)
	s.mu.Lock()
	if s.m == nil || len(s.m) >= maxCachedPerShard {
		s.m = make(map[string]*verified)
	}
	s.m[token] = v
	s.mu.Unlock()
}

func (c *sessionCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	delete(s.m, token)
	s.mu.Unlock()
}
