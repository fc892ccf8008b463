package memory

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

	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/internal/caddystorage"
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
// the Memory has one: New's has not).
func (m *Memory) Durable() store.Store { return durableMemory{m} }

func (d durableMemory) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return d.set(ctx, key, val, ttl, true)
}

func (d durableMemory) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, time.Duration, error) {
	return d.setNX(ctx, key, val, ttl, true)
}

func (d durableMemory) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, time.Duration, error) {
	return d.incr(ctx, key, delta, ttl, true)
}

// diskPrefix is where the memory store keeps its durable keys in Caddy's
// storage.
const diskPrefix = "phone_otp/memory"

// disk keeps durable entries in Caddy's storage.
type disk struct {
	st caddystorage.Storage
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

// diskMarkerKey sits next to the durable entries (not among them: load
// reads every key under diskPrefix as an entry). Its presence says this
// storage has kept phone_otp's durable state since it was written.
const diskMarkerKey = diskPrefix + ".marker"

// checkMarker is called when the cache is made, after load found n live
// entries. A storage without the marker has lost the durable state (a
// container with no volume for Caddy's data, a wiped folder) or never had
// any (a first start); the two look alike, and with a `secret` set the
// old tokens' signatures are good either way, so every token issued
// until now is refused (the returned Unix second, LostBefore), as the
// Redis store does after a loss. The marker is then written, so the next
// start on this storage trusts it again.
func (d *disk) checkMarker(ctx context.Context, now time.Time, n int, logger *zap.Logger) (int64, error) {
	_, err := d.st.Load(ctx, diskMarkerKey)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("store: memory: load %s from storage: %w", diskMarkerKey, err)
	}
	b, _ := json.Marshal(map[string]int64{"since": now.Unix()})
	if err := d.st.Store(context.WithoutCancel(ctx), diskMarkerKey, b); err != nil {
		return 0, fmt.Errorf("store: memory: keep %s in storage: %w", diskMarkerKey, err)
	}
	msg := "memory store: no phone_otp state in Caddy's storage (a first start, or a storage that does not persist, such as a container with no volume for Caddy's data); sessions and remembered devices issued before now are refused"
	if n > 0 {
		// Entries but no marker: the storage was partly lost, or
		// written by a version that kept no marker.
		logger.Error(msg+"; the storage holds durable entries but not their marker, so some may be lost",
			zap.String("marker", diskMarkerKey), zap.Int("entries", n))
	} else {
		logger.Info(msg, zap.String("marker", diskMarkerKey))
	}
	return now.Unix(), nil
}

// LostBefore implements LossDetector: the Unix second up to which tokens
// are refused because the storage had lost (or never had) the durable
// state; 0 with a storage that kept it, or none at all (New's).
func (m *Memory) LostBefore(context.Context) (int64, error) {
	if m.mem == nil {
		return 0, errUnavailable
	}
	return m.mem.lostBefore, nil
}

// LossSeen implements LossWitness: a token from before the start was
// refused, which a first start cannot see, so the storage did lose the
// state. Logged at ERROR once per process.
func (m *Memory) LossSeen() {
	if m.mem == nil || m.logger == nil {
		return
	}
	m.mem.lossSeen.Do(func() {
		m.logger.Error("memory store: a session or device issued before this start was refused: Caddy's storage lost phone_otp's revocations and blocks (keep Caddy's data folder on a persistent volume); every session issued before the start must sign in again",
			zap.Time("lost_before", time.Unix(m.mem.lostBefore, 0)))
	})
}

// Interface guards
var (
	_ store.Durable      = (*Memory)(nil)
	_ store.Store        = durableMemory{}
	_ store.LossDetector = (*Memory)(nil)
	_ store.LossWitness  = (*Memory)(nil)
)
