package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// The memory store keeps the keys written through its durable view
// (revocations, blocks, attempt counters: few, and rarely written) in
// Caddy's storage as well, one storage key each, written when they change
// and read when the pooled cache is made, that is when a Caddy process
// (or the first config with phone_otp in it) starts. Reads never touch
// the storage, so the hot path costs what it did.

// durableMemory is the memory store's durable view; see Durable.
type durableMemory struct{ *Memory }

// Durable returns the view whose writes are kept in Caddy's storage (when
// the Memory has one: NewMemory's has not).
func (m *Memory) Durable() Store { return durableMemory{m} }

func (d durableMemory) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return d.set(ctx, key, val, ttl, true)
}

func (d durableMemory) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, time.Duration, error) {
	return d.setNX(ctx, key, val, ttl, true)
}

func (d durableMemory) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, time.Duration, error) {
	return d.incr(ctx, key, delta, ttl, true)
}

// storage is the part of certmagic.Storage (Caddy's storage) the memory
// store needs.
type storage interface {
	Store(ctx context.Context, key string, value []byte) error
	Load(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string, recursive bool) ([]string, error)
}

// diskPrefix is where the memory store keeps its durable keys in Caddy's
// storage.
const diskPrefix = "phone_otp/memory"

// disk keeps durable entries in Caddy's storage.
type disk struct {
	st storage
}

// diskEntry is one durable entry as stored: the store key (storage keys
// are a hash of it, since store keys hold characters some storages refuse),
// the value, and when it expires.
type diskEntry struct {
	Key     string `json:"key"`
	Val     []byte `json:"val"`
	Expires int64  `json:"expires"` // Unix nanoseconds
}

func diskKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return path.Join(diskPrefix, hex.EncodeToString(sum[:16]))
}

// keep writes the entry. The caller holds key's stripe, so two writes of
// one key reach the storage in the order they were made. The visitor's
// going away does not cancel it: a logout half kept is not kept.
func (d *disk) keep(ctx context.Context, key string, val []byte, expires time.Time) error {
	b, err := json.Marshal(diskEntry{Key: key, Val: val, Expires: expires.UnixNano()})
	if err != nil {
		return err
	}
	if err := d.st.Store(context.WithoutCancel(ctx), diskKey(key), b); err != nil {
		return fmt.Errorf("store: memory: keep in storage: %w", err)
	}
	return nil
}

// forget removes the entry; an absent one is not an error.
func (d *disk) forget(ctx context.Context, key string) error {
	err := d.st.Delete(context.WithoutCancel(ctx), diskKey(key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: memory: forget in storage: %w", err)
	}
	return nil
}

// load calls put for every entry still live at now, and removes the
// expired ones. An entry it cannot read is an error: it may be a
// revocation, and starting without it would let its session back in.
func (d *disk) load(ctx context.Context, now time.Time, put func(key string, val []byte, ttl time.Duration)) error {
	names, err := d.st.List(ctx, diskPrefix, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: memory: list %s in storage: %w", diskPrefix, err)
	}
	for _, name := range names {
		b, err := d.st.Load(ctx, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since List
		}
		if err != nil {
			return fmt.Errorf("store: memory: load %s from storage: %w", name, err)
		}
		var e diskEntry
		if err := json.Unmarshal(b, &e); err != nil || diskKey(e.Key) != name {
			return fmt.Errorf("store: memory: %s in storage is damaged; delete it to start (a revocation or block it held is then lost)", name)
		}
		ttl := time.Unix(0, e.Expires).Sub(now)
		if ttl <= 0 {
			if err := d.forget(ctx, e.Key); err != nil {
				return err
			}
			continue
		}
		put(e.Key, e.Val, ttl)
	}
	return nil
}

// Interface guards
var (
	_ Durable = (*Memory)(nil)
	_ Store   = durableMemory{}
)

// storageOf is ctx's storage, or nil for a context made outside any
// config (as tests make them), whose Storage would dereference nil.
func storageOf(ctx caddy.Context) (st storage) {
	defer func() {
		if recover() != nil {
			st = nil
		}
	}()
	return ctx.Storage()
}
