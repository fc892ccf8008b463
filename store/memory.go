package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/patrickmn/go-cache"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(Memory{})
}

// pool holds the one in-process cache that every provisioned Memory shares.
// Caddy provisions a new config before it cleans up the old one, so across
// `caddy reload` the reference count never reaches zero and pending codes,
// counters, blocks and revoked sessions carry over.
var pool = caddy.NewUsagePool()

// poolKey is fixed: every phone_otp handler in the process shares one
// memory store. Keys are namespaced by their callers, as they would be in a
// shared Redis.
const poolKey = "memory"

const (
	// sweepInterval is how often expired entries are removed in real time,
	// so that a flood of distinct keys cannot grow memory without end.
	sweepInterval = time.Minute
	// stripeCount must be a power of two (see stripeOf).
	stripeCount = 64
)

var (
	errTTL         = errors.New("store: memory: ttl must be positive")
	errNotInteger  = errors.New("store: memory: value is not an integer")
	errOverflow    = errors.New("store: memory: increment would overflow")
	errUnavailable = errors.New("store: memory: not provisioned")
)

// Memory is the default store: it keeps state in the Caddy process, so it
// survives `caddy reload`, and is not shared between Caddy instances (use
// the redis store for that). Of a restart only what was written through
// its durable view (revocations, blocks, attempt counters; see Durable)
// survives: that is kept in Caddy's storage too. In the Caddyfile it is
// `store memory`, with no options.
type Memory struct {
	mem    *memCache
	pooled bool
	// disk keeps the durable entries in Caddy's storage; nil: nowhere
	// (NewMemory's).
	disk   *disk
	logger *zap.Logger
}

// NewMemory returns a Memory with a cache of its own, outside the Caddy
// module lifecycle: for tests and for code that wants a private instance.
// Expiry is decided by now, or by time.Now when now is nil, so tests can step
// a fake clock instead of sleeping. Its background sweeper stops when the
// Memory is garbage-collected, or at Cleanup.
func NewMemory(now func() time.Time) *Memory {
	mc := newMemCache(now)
	m := &Memory{mem: mc}
	// The sweeper goroutine holds mc, never m, so m can become unreachable.
	runtime.AddCleanup(m, func(mc *memCache) { _ = mc.Destruct() }, mc)
	return m
}

// CaddyModule returns the Caddy module information.
func (Memory) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  Namespace + ".memory",
		New: func() caddy.Module { return new(Memory) },
	}
}

// Provision attaches m to the process-wide cache.
func (m *Memory) Provision(ctx caddy.Context) error {
	// Durable entries go to the storage of the config that writes them
	// (a reload may change the storage).
	var dk *disk
	if st := storageOf(ctx); st != nil {
		dk = &disk{st: st}
	}
	logger := ctx.Logger()
	v, _, err := pool.LoadOrNew(poolKey, func() (caddy.Destructor, error) {
		mc := newMemCache(time.Now)
		if dk != nil {
			// A new cache is a new process, or the first config with
			// phone_otp in it: what was kept comes back.
			n := 0
			err := dk.load(ctx, mc.now(), func(key string, val []byte, ttl time.Duration) {
				(&Memory{mem: mc}).store(key, val, ttl, true)
				n++
			})
			if err == nil {
				mc.lostBefore, err = dk.checkMarker(ctx, mc.now(), n, logger)
			}
			if err == nil && mc.lostBefore > 0 {
				// Tokens carry whole seconds, and those of the second
				// of the start are refused: wait it out, so that no
				// session this process issues is among them.
				time.Sleep(time.Until(time.Unix(mc.lostBefore+1, 0)))
			}
			if err != nil {
				mc.Destruct()
				return nil, err
			}
		}
		return mc, nil
	})
	if err != nil {
		return fmt.Errorf("store: memory: %w", err)
	}
	m.mem = v.(*memCache)
	m.disk = dk
	m.pooled = true
	m.logger = logger
	return nil
}

// Cleanup releases m's hold on the process-wide cache; the cache is dropped
// when the last config using it is cleaned up. A Memory made by NewMemory
// drops its own cache.
func (m *Memory) Cleanup() error {
	if m.mem == nil {
		return nil
	}
	var err error
	if m.pooled {
		_, err = pool.Delete(poolKey)
	} else {
		err = m.mem.Destruct()
	}
	m.mem, m.pooled, m.disk = nil, false, nil
	return err
}

// UnmarshalCaddyfile accepts `memory` alone; the store has no options.
func (m *Memory) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		return d.Errf("store memory: unrecognized subdirective %q", d.Val())
	}
	return nil
}

// Get returns a copy of the value under key and its remaining TTL, or
// ErrNotFound. A counter made by Incr reads as its decimal digits, as in
// Redis. Get takes no stripe lock: stored entries are never modified, only
// replaced, so go-cache's own per-call atomicity is enough for this hot path
// (a session revocation check on every authenticated request).
func (m *Memory) Get(_ context.Context, key string) ([]byte, time.Duration, error) {
	if m.mem == nil {
		return nil, 0, errUnavailable
	}
	val, left, ok := m.load(key)
	if !ok {
		return nil, 0, ErrNotFound
	}
	return bytes.Clone(val), left, nil
}

// Set stores val under key for ttl, replacing any value and TTL.
func (m *Memory) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return m.set(ctx, key, val, ttl, false)
}

func (m *Memory) set(ctx context.Context, key string, val []byte, ttl time.Duration, durable bool) error {
	if m.mem == nil {
		return errUnavailable
	}
	if ttl <= 0 {
		return errTTL
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	durable, err := m.persist(ctx, key, val, ttl, durable)
	if err != nil {
		return err
	}
	m.store(key, val, ttl, durable)
	return nil
}

// SetNX stores val under key for ttl only if key is absent or expired. When
// it stores, it returns ttl; when it does not, the existing key's remaining
// TTL.
func (m *Memory) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, time.Duration, error) {
	return m.setNX(ctx, key, val, ttl, false)
}

func (m *Memory) setNX(ctx context.Context, key string, val []byte, ttl time.Duration, durable bool) (bool, time.Duration, error) {
	if m.mem == nil {
		return false, 0, errUnavailable
	}
	if ttl <= 0 {
		return false, 0, errTTL
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	if _, left, ok := m.load(key); ok {
		return false, left, nil
	}
	// An absent key has no durability to inherit.
	if durable && m.disk != nil {
		if err := m.disk.keep(ctx, key, val, m.mem.now().Add(ttl)); err != nil {
			return false, 0, err
		}
	}
	m.store(key, val, ttl, durable)
	return true, ttl, nil
}

// Incr adds delta (which may be negative) to the counter under key and
// returns the new value and the remaining TTL. An absent or expired key
// starts at 0 and lives for ttl; an existing key keeps its deadline, which
// makes a fixed window. A value set by Set counts if it is a decimal
// integer, and is an error otherwise, as in Redis.
func (m *Memory) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, time.Duration, error) {
	return m.incr(ctx, key, delta, ttl, false)
}

func (m *Memory) incr(ctx context.Context, key string, delta int64, ttl time.Duration, durable bool) (int64, time.Duration, error) {
	if m.mem == nil {
		return 0, 0, errUnavailable
	}
	if ttl <= 0 {
		return 0, 0, errTTL
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	var n int64
	val, left, was, ok := m.loadEntry(key)
	if ok {
		var err error
		if n, err = strconv.ParseInt(string(val), 10, 64); err != nil || !canonicalInt(val) {
			return 0, 0, errNotInteger
		}
	} else {
		left = ttl
	}
	if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
		return 0, 0, errOverflow
	}
	n += delta
	// Counters are stored as digits so that Get and Incr agree with each
	// other and with the redis store; FormatInt of a small number does not
	// allocate.
	val = strconv.AppendInt(nil, n, 10)
	durable = durable || was
	if durable && m.disk != nil {
		if err := m.disk.keep(ctx, key, val, m.mem.now().Add(left)); err != nil {
			return 0, 0, err
		}
	}
	m.store(key, val, left, durable)
	return n, left, nil
}

// canonicalInt reports whether s, which ParseInt accepted, is written as
// FormatInt writes it: no '+', no leading zeros, no "-0". Redis's INCRBY
// refuses the others, and the stores must agree.
func canonicalInt(s []byte) bool {
	digits := bytes.TrimPrefix(s, []byte("-"))
	return s[0] != '+' && (digits[0] != '0' || len(s) == 1)
}

// Hit records one allowed event in key's window; see Store.Hit. The
// window is stored as 16 bytes: the count and the time (on the cache's
// clock) of the last event.
func (m *Memory) Hit(_ context.Context, key string, limit int64, window, gap time.Duration) (bool, time.Duration, error) {
	if m.mem == nil {
		return false, 0, errUnavailable
	}
	if window <= 0 {
		return false, 0, errTTL
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	now := m.mem.elapsed()
	var w hitWindow
	val, left, ok := m.load(key)
	if ok {
		var err error
		if w, err = decodeWindow(val); err != nil {
			return false, 0, err
		}
		if w.last != noEvent && gap > 0 && now-w.last < gap {
			return false, gap - (now - w.last), nil
		}
	} else {
		left = window
	}
	if w.n >= limit {
		return false, left, nil
	}
	w.n, w.last = w.n+1, now
	m.store(key, w.encode(), left, false)
	return true, 0, nil
}

// Unhit takes back the last allowed Hit under key; see Store.Unhit.
func (m *Memory) Unhit(_ context.Context, key string) error {
	if m.mem == nil {
		return errUnavailable
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	val, left, ok := m.load(key)
	if !ok {
		return nil
	}
	w, err := decodeWindow(val)
	if err != nil {
		return err
	}
	w.n, w.last = max(w.n-1, 0), noEvent
	m.store(key, w.encode(), left, false)
	return nil
}

// Attach keeps val with the window under key; see Store.Attach.
func (m *Memory) Attach(_ context.Context, key string, val []byte, ttl time.Duration) error {
	if m.mem == nil {
		return errUnavailable
	}
	if ttl <= 0 {
		return errTTL
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	cur, left, ok := m.load(key)
	if !ok {
		return ErrNotFound
	}
	w, err := decodeWindow(cur)
	if err != nil {
		return err
	}
	w.until, w.attached = m.mem.elapsed()+ttl, val
	m.store(key, w.encode(), max(left, ttl), false)
	return nil
}

// Attached returns the value attached to the window under key; see
// Store.Attached.
func (m *Memory) Attached(_ context.Context, key string) ([]byte, time.Duration, error) {
	if m.mem == nil {
		return nil, 0, errUnavailable
	}
	cur, _, ok := m.load(key)
	if !ok {
		return nil, 0, ErrNotFound
	}
	w, err := decodeWindow(cur)
	if err != nil {
		return nil, 0, err
	}
	left := w.until - m.mem.elapsed()
	if w.attached == nil || left <= 0 {
		return nil, 0, ErrNotFound
	}
	return bytes.Clone(w.attached), left, nil
}

// Detach removes the value attached to the window under key if it equals
// val (any, if val is nil); see Store.Detach.
func (m *Memory) Detach(_ context.Context, key string, val []byte) (bool, error) {
	if m.mem == nil {
		return false, errUnavailable
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	cur, left, ok := m.load(key)
	if !ok {
		return false, nil
	}
	w, err := decodeWindow(cur)
	if err != nil {
		return false, err
	}
	if w.attached == nil || w.until <= m.mem.elapsed() || (val != nil && !bytes.Equal(w.attached, val)) {
		return false, nil
	}
	w.until, w.attached = 0, nil
	m.store(key, w.encode(), left, false)
	return true, nil
}

// Window reads the Hit window under key; see WindowReader.
func (m *Memory) Window(_ context.Context, key string) (int64, time.Duration, error) {
	if m.mem == nil {
		return 0, 0, errUnavailable
	}
	val, left, ok := m.load(key)
	if !ok {
		return 0, 0, ErrNotFound
	}
	w, err := decodeWindow(val)
	if err != nil {
		return 0, 0, err
	}
	return w.n, left, nil
}

// noEvent marks a window whose gap has been lifted.
const noEvent = time.Duration(math.MinInt64)

var errNotWindow = errors.New("store: value is not a Hit window")

// hitWindow is a Hit window as the memory store keeps it: the count, the
// time of the last event, and what is attached with the time it lasts
// until (all times on the cache's clock). Encoded it is 16 bytes, or 24
// plus the attached value, which for a pending code fits an inline entry.
type hitWindow struct {
	n        int64
	last     time.Duration
	until    time.Duration
	attached []byte
}

func (w hitWindow) encode() []byte {
	size := 16
	if w.attached != nil {
		size = 24 + len(w.attached)
	}
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b[:8], uint64(w.n))
	binary.BigEndian.PutUint64(b[8:16], uint64(w.last))
	if w.attached != nil {
		binary.BigEndian.PutUint64(b[16:24], uint64(w.until))
		copy(b[24:], w.attached)
	}
	return b
}

// decodeWindow reads an encoded window; its attached value aliases v.
func decodeWindow(v []byte) (hitWindow, error) {
	if len(v) != 16 && len(v) < 24 {
		return hitWindow{}, errNotWindow
	}
	w := hitWindow{
		n:    int64(binary.BigEndian.Uint64(v[:8])),
		last: time.Duration(binary.BigEndian.Uint64(v[8:16])),
	}
	if len(v) >= 24 {
		w.until = time.Duration(binary.BigEndian.Uint64(v[16:24]))
		w.attached = v[24:]
	}
	return w, nil
}

// CompareAndDelete deletes key only if its value equals val, and reports
// whether it did. The comparison is not constant-time: callers hash secrets
// before they reach the store.
func (m *Memory) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	if m.mem == nil {
		return false, errUnavailable
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	cur, _, durable, ok := m.loadEntry(key)
	if !ok || !bytes.Equal(cur, val) {
		return false, nil
	}
	if durable && m.disk != nil {
		if err := m.disk.forget(ctx, key); err != nil {
			return false, err
		}
	}
	m.mem.cache(key).Delete(key)
	return true, nil
}

// Delete removes the keys, all at once: it holds every stripe they fall in,
// so no compound call on one of them sees some deleted and others not.
func (m *Memory) Delete(ctx context.Context, keys ...string) error {
	if m.mem == nil {
		return errUnavailable
	}
	var set uint64
	for _, k := range keys {
		set |= 1 << stripeOf(k)
	}
	// Ascending order, so two multi-key Deletes cannot deadlock.
	for i := range stripeCount {
		if set&(1<<i) != 0 {
			m.mem.stripes[i].Lock()
		}
	}
	var err error
	for _, k := range keys {
		if _, _, durable, ok := m.loadEntry(k); ok && durable && m.disk != nil {
			if e := m.disk.forget(ctx, k); e != nil {
				// Kept in memory too, so that what stays in storage
				// is what the process still has.
				err = errors.Join(err, e)
				continue
			}
		}
		m.mem.cache(k).Delete(k)
	}
	for i := range stripeCount {
		if set&(1<<i) != 0 {
			m.mem.stripes[i].Unlock()
		}
	}
	return err
}

// Keys returns the live keys that begin with prefix. It copies each
// stripe's index and so costs time in proportion to the whole store: it is
// for the admin API, never the request path.
func (m *Memory) Keys(_ context.Context, prefix string) ([]string, error) {
	if m.mem == nil {
		return nil, errUnavailable
	}
	var keys []string
	for i := range m.mem.stripes {
		for k := range m.mem.stripes[i].c.Items() {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if _, _, ok := m.load(k); ok {
				keys = append(keys, k)
			}
		}
	}
	return keys, nil
}

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

// Interface guards
var (
	_ Store                 = (*Memory)(nil)
	_ Lister                = (*Memory)(nil)
	_ WindowReader          = (*Memory)(nil)
	_ caddy.Module          = (*Memory)(nil)
	_ caddy.Provisioner     = (*Memory)(nil)
	_ caddy.CleanerUpper    = (*Memory)(nil)
	_ caddyfile.Unmarshaler = (*Memory)(nil)
	_ caddy.Destructor      = (*memCache)(nil)
)
