package memory

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/patrickmn/go-cache"

	"github.com/caddyotp/caddyotp/store/internal/watchers"
)

const (
	// sweepInterval is how often expired entries are removed in real time,
	// so that a flood of distinct keys cannot grow memory without end.
	sweepInterval = time.Minute
	// stripeCount must be a power of two (see stripeOf).
	stripeCount = 64
)

// An entry is one stored value with its deadline (the time since
// memCache.base at which it expires; an offset rather than a time.Time
// saves 16 bytes, and Sub keeps time.Now's monotonic reading, so a
// wall-clock step back cannot extend a code's life). Entries are immutable
// once stored (Get reads them without a stripe lock); every change stores
// a new one.
//
// Most values here are small (a 16-byte window, 47 bytes with a pending
// code attached, a marker), and every pending code costs an entry, so a
// small value lives inside its entry: one 64-byte object instead of an
// entry and a slice.
type smallEntry struct {
	deadline time.Duration
	n        uint8
	durable  bool // kept in Caddy's storage too (memory_durable.go)
	b        [smallMax]byte
}

type bigEntry struct {
	deadline time.Duration
	durable  bool
	val      []byte
}

const smallMax = 54

// load returns the live value under key (which the caller must not
// modify) and its remaining TTL. An entry whose deadline has passed per
// the cache's clock is absent even before the sweeper (which goes by the
// real clock) removes it.
func (m *Memory) load(key string) ([]byte, time.Duration, bool) {
	val, left, _, ok := m.loadEntry(key)
	return val, left, ok
}

// loadEntry is load, and whether the entry is durable.
func (m *Memory) loadEntry(key string) ([]byte, time.Duration, bool, bool) {
	v, ok := m.mem.cache(key).Get(key)
	if !ok {
		return nil, 0, false, false
	}
	var val []byte
	var deadline time.Duration
	var durable bool
	switch e := v.(type) {
	case *smallEntry:
		val, deadline, durable = e.b[:e.n], e.deadline, e.durable
	case *bigEntry:
		val, deadline, durable = e.val, e.deadline, e.durable
	}
	left := deadline - m.mem.elapsed()
	if left <= 0 {
		return nil, 0, false, false
	}
	return val, left, durable, true
}

// persist keeps a write of key in Caddy's storage if it is durable: asked
// to be, or already so. It reports whether the entry is. It must be
// called with key's stripe held, before the write is stored.
func (m *Memory) persist(ctx context.Context, key string, val []byte, ttl time.Duration, durable bool) (bool, error) {
	if m.disk == nil {
		return durable, nil
	}
	if !durable {
		_, _, durable, _ = m.loadEntry(key)
		if !durable {
			return false, nil
		}
	}
	return true, m.disk.keep(ctx, key, val, m.mem.now().Add(ttl))
}

// store must be called with key's stripe held.
func (m *Memory) store(key string, val []byte, ttl time.Duration, durable bool) {
	deadline := m.mem.elapsed() + ttl
	var e any
	if len(val) <= smallMax {
		se := &smallEntry{deadline: deadline, n: uint8(len(val)), durable: durable}
		copy(se.b[:], val)
		e = se
	} else {
		e = &bigEntry{deadline: deadline, durable: durable, val: bytes.Clone(val)}
	}
	// go-cache gets the TTL too, so that its real-time expiry and the
	// sweeper bound memory whatever the injected clock says.
	m.mem.cache(key).Set(key, e, ttl)
}

// memCache is the cache and the locks that make compound calls atomic.
// go-cache does not expose its lock, so read-modify-write calls hold one of
// stripeCount mutexes picked by key hash instead of one global lock.
type memCache struct {
	// now decides expiry. It belongs to the cache, not to each Memory,
	// because every deadline in the cache is an offset from base on it.
	now     func() time.Time
	base    time.Time
	stripes [stripeCount]stripe
	stop    chan struct{}
	once    sync.Once
	// lostBefore is the Unix second up to which tokens are refused
	// because the storage held none of the durable state (see
	// memory_durable.go); 0: none. Set before the cache is shared.
	lostBefore int64
	// lossSeen logs, once, that a token from before the loss came.
	lossSeen sync.Once
	// watchers hear every revocation made through the cache
	// (revocations.go).
	watchers watchers.Set
}

// stripe pads a mutex to its own cache line, so busy neighbours do not slow
// each other.
type stripe struct {
	sync.Mutex
	// c holds the keys of this stripe. One go-cache per stripe keeps each
	// cache's own lock, and each sweep, to 1/stripeCount of the keys: a
	// sweep of millions of expired codes never stops the others.
	c *cache.Cache
	_ [48]byte
}

// newMemCache returns a cache whose expiry goes by now (time.Now if nil).
func newMemCache(now func() time.Time) *memCache {
	if now == nil {
		now = time.Now
	}
	// No go-cache janitor: in v2.1.0 it stops only when a finalizer runs,
	// so a dropped cache would leave a goroutine behind until some later
	// GC. Our own sweeper stops at Destruct.
	mc := &memCache{
		now:  now,
		base: now(),
		stop: make(chan struct{}),
	}
	for i := range mc.stripes {
		mc.stripes[i].c = cache.New(cache.NoExpiration, 0)
	}
	go mc.sweep()
	return mc
}

// sweep removes expired entries one stripe at a time, yielding between
// stripes, so that no request waits on more than one stripe's sweep.
func (mc *memCache) sweep() {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			mc.sweepAll()
		case <-mc.stop:
			return
		}
	}
}

func (mc *memCache) sweepAll() {
	for i := range mc.stripes {
		mc.stripes[i].c.DeleteExpired()
		runtime.Gosched()
	}
}

// Destruct stops the sweeper and drops every entry. It is called when the
// last Memory using the pooled cache is cleaned up.
func (mc *memCache) Destruct() error {
	mc.once.Do(func() {
		close(mc.stop)
		for i := range mc.stripes {
			mc.stripes[i].c.Flush()
		}
	})
	return nil
}

// elapsed is the time on mc's clock since base.
func (mc *memCache) elapsed() time.Duration {
	return mc.now().Sub(mc.base)
}

// cache is the go-cache holding key.
func (mc *memCache) cache(key string) *cache.Cache {
	return mc.stripes[stripeOf(key)].c
}

func (mc *memCache) lock(key string) *stripe {
	s := &mc.stripes[stripeOf(key)]
	s.Lock()
	return s
}

// stripeOf hashes key with 32-bit FNV-1a, inline so that it allocates
// nothing.
func stripeOf(key string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h & (stripeCount - 1)
}
