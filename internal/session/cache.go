package session

import (
	"hash/maphash"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/sms"
)

// revalidateEvery is how stale a cached session's revocation check may
// get with a store that does not push revocations (push.go). A session
// revoked anywhere (another instance sharing the store included) stops
// working everywhere within this time plus one request.
const revalidateEvery = time.Second

// Verified is a session that passed full verification (signature,
// algorithm, issuer, times) and a revocation check at checked. It is
// shared by every request that carries its token: read it, never change it.
//
// It is one object with the claims inside, and the token, the phone, the
// jti and the masked phone in one string beside it: a cache hit among
// many sessions costs memory latency, paid per object it touches, and a
// big live heap costs the collector per object and pointer.
type Verified struct {
	token string                    // the whole token: the cache's key (a copy of its own, pinning no request's Cookie header)
	adm   atomic.Pointer[admission] // the Sessions generation that last admitted it, and when it ends there
	seen  atomic.Uint64             // the pushed gen it was last checked at (push.go)

	Claims *Claims // points into the Verified itself

	// Placeholders is a caddy.ReplacerFunc that answers
	// {http.auth.user.id} and {http.auth.user.phone}. Caddy asks its
	// replacer's static values first, so an earlier auth handler's user id
	// wins, as the SPEC wants; and adding a provider built once per
	// session costs a request nothing, where setting static values grows a
	// fresh map on every request. (The package stays free of Caddy: the
	// type is spelled out, and assignable to caddy.ReplacerFunc.) It also
	// answers true for Sessions.Mark, which tells the handler's strip
	// routes that the identity header on this request is one it set.
	Placeholders func(key string) (any, bool)
	Phone        any // the phone, boxed once for the replacer
	Masked       any // the phone masked, for the placeholders once the response is done

	checked atomic.Int64           // unix nanoseconds of the last revocation check (stores that do not push)
	epoch   atomic.Uint64          // the subscription it was last checked in the store during
	renewed atomic.Pointer[string] // the token that slid idle_timeout on
	mark    string                 // Sessions.Mark

	claims        Claims
	iat, end, nbf jwt.NumericDate // the claims' times
}

// newVerified is the cache entry for token, whose claims c passed
// verification now. The issuer and audience are shared with every other
// session of s when they are s's own (as they are unless a token names
// more audiences); c itself is not kept.
func newVerified(s *Sessions, token string, c *Claims, now time.Time) *Verified {
	masked := sms.MaskPhone(c.Subject)
	var b strings.Builder
	b.Grow(len(token) + len(c.Subject) + len(c.ID) + len(c.User) + len(c.IP) + len(masked))
	cut := func(v string) string {
		n := b.Len()
		b.WriteString(v)
		return b.String()[n:]
	}
	v := &Verified{mark: s.Mark, claims: *c}
	v.token = cut(token)
	v.claims.Subject = cut(c.Subject)
	v.claims.ID = cut(c.ID)
	v.claims.User = cut(c.User)
	v.claims.IP = cut(c.IP)
	masked = cut(masked)
	if c.Issuer == s.issuer {
		v.claims.Issuer = s.issuer
	}
	if len(c.Audience) == 1 && c.Audience[0] == s.ns {
		v.claims.Audience = s.aud
	}
	for _, d := range []struct {
		in   *jwt.NumericDate
		keep *jwt.NumericDate
		out  **jwt.NumericDate
	}{{c.IssuedAt, &v.iat, &v.claims.IssuedAt}, {c.ExpiresAt, &v.end, &v.claims.ExpiresAt}, {c.NotBefore, &v.nbf, &v.claims.NotBefore}} {
		if d.in != nil {
			*d.keep = *d.in
			*d.out = d.keep
		}
	}
	v.Claims = &v.claims
	v.Phone = v.claims.Subject
	v.Masked = masked
	v.Placeholders = v.placeholder
	v.checked.Store(now.UnixNano())
	return v
}

// admission is a cached session as one Sessions (one config's) admitted
// it: the rules beyond the JWT's own (idle_timeout, the phone rules,
// users_file) are the config's, so a session cached under one config is
// admitted again, without a store call, the first time a Sessions of
// another (a reload's) meets it. end is when it ends there, unix ns.
type admission struct {
	gen uint64
	end int64
}

func (v *Verified) placeholder(key string) (any, bool) {
	switch key {
	case "http.auth.user.id", "http.auth.user.phone":
		return v.Phone, true
	case "":
		return nil, false
	case v.mark:
		return true, true
	}
	return nil, false
}

// ways is how many sessions share a bucket of the cache.
const ways = 8

// Bounds of the cache's table, in buckets: it starts small (a site with
// few visitors keeps a few KB) and grows to at most maxBuckets, so at
// most maxBuckets*ways = 2^19 verified sessions are ever kept.
const (
	minBuckets = 1 << 6
	maxBuckets = 1 << 16
)

// cache maps a whole token to its verification, so that a request
// with a known token skips base64, JSON and HMAC work. Only tokens that
// passed full verification are ever stored, and a hit compares the whole
// token, so a cache hit proves exactly what verification proved.
//
// It is a hash table of fixed-size buckets, bounded by construction: a
// session put into a full bucket takes the place of one at random there
// (which then costs one full verification on its next request). Reads take
// no lock and write no shared memory (a read lock's counter is a cache
// line the cores pass back and forth: 4x the cost on two cores): a read
// loads the table, its bucket's tags (a hint: the token's hash), and the
// one entry whose tag matches. Writes (a session verified, revoked or
// expired) take mu; the table grows, copied and swapped, while it is more
// than a quarter full, which keeps full buckets rare. A read that starts
// after a remove has returned sees the table the remove changed.
type cache struct {
	seed  maphash.Seed
	table atomic.Pointer[table]
	mu    sync.Mutex
	n     int // entries in the table; mu
	max   int // buckets at most: maxBuckets (smaller in tests)
}

type table struct {
	mask    uint64
	buckets []bucket
}

type bucket struct {
	tag [ways]atomic.Uint32 // the upper half of the token's hash, or'ed with 1; 0: empty
	v   [ways]atomic.Pointer[Verified]
}

func newCache(maxBuckets int) *cache {
	c := &cache{seed: maphash.MakeSeed(), max: maxBuckets}
	c.table.Store(newTable(min(minBuckets, maxBuckets)))
	return c
}

func newTable(n int) *table { return &table{mask: uint64(n - 1), buckets: make([]bucket, n)} }

func (c *cache) hash(token string) (uint64, uint32) {
	h := maphash.String(c.seed, token)
	return h, uint32(h>>32) | 1
}

func (c *cache) get(token string) *Verified {
	h, tag := c.hash(token)
	t := c.table.Load()
	b := &t.buckets[h&t.mask]
	for i := range ways {
		if b.tag[i].Load() == tag {
			if v := b.v[i].Load(); v != nil && v.token == token {
				return v
			}
		}
	}
	return nil
}

// put adds v under its token, replacing an entry for the same token.
func (c *cache) put(v *Verified) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table.Load()
	// Grow while more than a quarter full, and also when v's bucket is
	// full by chance: below the bound, nothing cached makes way.
	for len(t.buckets) < c.max && (c.n >= len(t.buckets)*ways/4 || c.full(t, v.token)) {
		t = c.grow(t)
	}
	if c.insert(t, v) {
		c.n++
	}
}

// full reports whether token's bucket in t has no free way and does not
// hold token; c.mu held.
func (c *cache) full(t *table, token string) bool {
	h, _ := c.hash(token)
	b := &t.buckets[h&t.mask]
	for i := range ways {
		if old := b.v[i].Load(); old == nil || old.token == token {
			return false
		}
	}
	return true
}

// insert puts v into t and reports whether that added an entry; c.mu held.
func (c *cache) insert(t *table, v *Verified) bool {
	h, tag := c.hash(v.token)
	b := &t.buckets[h&t.mask]
	free := -1
	for i := range ways {
		switch old := b.v[i].Load(); {
		case old == nil:
			if free < 0 {
				free = i
			}
		case old.token == v.token:
			b.v[i].Store(v)
			return false
		}
	}
	added := free >= 0
	if !added {
		free = rand.IntN(ways) // full: one of them makes way
	}
	// The tag is a hint only (a hit compares the whole token), so a
	// read between the two stores at worst misses.
	b.v[free].Store(v)
	b.tag[free].Store(tag)
	return added
}

// grow replaces t with a table four times its size holding the same
// entries; c.mu held.
func (c *cache) grow(t *table) *table {
	nt := newTable(min(4*len(t.buckets), c.max))
	c.n = 0
	for i := range t.buckets {
		for j := range ways {
			if v := t.buckets[i].v[j].Load(); v != nil && c.insert(nt, v) {
				c.n++
			}
		}
	}
	c.table.Store(nt)
	return nt
}

func (c *cache) remove(token string) {
	h, _ := c.hash(token)
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table.Load()
	b := &t.buckets[h&t.mask]
	for i := range ways {
		if v := b.v[i].Load(); v != nil && v.token == token {
			b.tag[i].Store(0)
			b.v[i].Store(nil)
			c.n--
		}
	}
}

// size is how many sessions the cache holds (tests).
func (c *cache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
