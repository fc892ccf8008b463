// Package memory is phone_otp's in-process store and its Caddy module
// (http.handlers.phone_otp.store.memory): one Caddy instance's state, with
// durable entries kept in Caddy's storage.
package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/internal/caddystorage"
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
	// (New's).
	disk   *disk
	logger *zap.Logger
}

// New returns a Memory with a cache of its own, outside the Caddy
// module lifecycle: for tests and for code that wants a private instance.
// Expiry is decided by now, or by time.Now when now is nil, so tests can step
// a fake clock instead of sleeping. Its background sweeper stops when the
// Memory is garbage-collected, or at Cleanup.
func New(now func() time.Time) *Memory {
	mc := newMemCache(now)
	m := &Memory{mem: mc}
	// The sweeper goroutine holds mc, never m, so m can become unreachable.
	runtime.AddCleanup(m, func(mc *memCache) { _ = mc.Destruct() }, mc)
	return m
}

// CaddyModule returns the Caddy module information.
func (Memory) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  store.Namespace + ".memory",
		New: func() caddy.Module { return new(Memory) },
	}
}

// Provision attaches m to the process-wide cache.
func (m *Memory) Provision(ctx caddy.Context) error {
	// Durable entries go to the storage of the config that writes them
	// (a reload may change the storage).
	var dk *disk
	if st := caddystorage.Of(ctx); st != nil {
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
// when the last config using it is cleaned up. A Memory made by New
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

// StoreID implements store.Identity: every provisioned Memory is one
// store (the process-wide cache); one made by New is its own.
func (m *Memory) StoreID() string {
	if m.pooled {
		return "memory"
	}
	return ""
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
		return nil, 0, store.ErrNotFound
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

// Interface guards
var (
	_ store.Store           = (*Memory)(nil)
	_ store.Lister          = (*Memory)(nil)
	_ store.WindowReader    = (*Memory)(nil)
	_ store.Identity        = (*Memory)(nil)
	_ caddy.Module          = (*Memory)(nil)
	_ caddy.Provisioner     = (*Memory)(nil)
	_ caddy.CleanerUpper    = (*Memory)(nil)
	_ caddyfile.Unmarshaler = (*Memory)(nil)
	_ caddy.Destructor      = (*memCache)(nil)
)
