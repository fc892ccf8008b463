package session

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyotp/caddyotp/sms"
)

// revalidateEvery is how stale a cached session's revocation check may
// get with a store that does not push revocations (push.go). A session
// revoked anywhere (another instance sharing the store included) stops
// working everywhere within this time plus one request.
const revalidateEvery = time.Second

// maxCached bounds the cache: past it the cache starts afresh, which only
// costs the sessions in it one full verification each.
const maxCached = 1 << 19

// Verified is a session that passed full verification (signature,
// algorithm, issuer, times) and a revocation check at checked. It is
// shared by every request that carries its token: read it, never change it.
type Verified struct {
	Claims *Claims
	Phone  any // the phone, boxed once for the replacer
	Masked any // the phone masked, for the placeholders once the response is done

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

	exp     int64                  // unix nanoseconds
	checked atomic.Int64           // unix nanoseconds of the last revocation check (stores that do not push)
	seen    atomic.Uint64          // the pushed gen it was last checked at (push.go)
	epoch   atomic.Uint64          // the subscription it was last checked in the store during
	renewed atomic.Pointer[string] // the token that slid idle_timeout on
}

func newVerified(c *Claims, now time.Time, mark string) *Verified {
	v := &Verified{
		Claims: c,
		exp:    c.ExpiresAt.Time.UnixNano(),
		Phone:  c.Subject,
		Masked: sms.MaskPhone(c.Subject),
	}
	v.Placeholders = func(key string) (any, bool) {
		switch key {
		case "http.auth.user.id", "http.auth.user.phone":
			return v.Phone, true
		case "":
			return nil, false
		case mark:
			return true, true
		}
		return nil, false
	}
	v.checked.Store(now.UnixNano())
	return v
}

// cache maps a whole token to its verification, so that a request
// with a known token skips base64, JSON and HMAC work. Only tokens that
// passed full verification are ever stored, and the key is the whole
// token, so a cache hit proves exactly what verification proved.
//
// It is a sync.Map: every request reads it and few write it, and its reads
// take no lock and write no shared memory, where a read lock's counter is
// a cache line the cores pass back and forth (4x the cost on two cores).
type cache struct {
	m   sync.Map // string → *Verified
	n   atomic.Int64
	max int64 // maxCached; smaller in tests
}

func (c *cache) get(token string) *Verified {
	v, _ := c.m.Load(token)
	s, _ := v.(*Verified)
	return s
}

func (c *cache) put(token string, v *Verified) {
	if _, loaded := c.m.Swap(token, v); loaded {
		return
	}
	if c.n.Add(1) > c.max {
		// Start afresh: the sessions in it cost one full verification
		// each. (Under concurrent puts the count is approximate; it is
		// only a bound.)
		c.m.Clear()
		c.m.Store(token, v)
		c.n.Store(1)
	}
}

func (c *cache) remove(token string) {
	if _, loaded := c.m.LoadAndDelete(token); loaded {
		c.n.Add(-1)
	}
}
