package memory

import (
	"context"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// Revoke implements store.Revocations for the memory store: the durable write,
// then every watcher in the process (every site sharing the cache) is
// told before Revoke returns.
func (m *Memory) Revoke(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := m.Durable().Set(ctx, key, val, ttl); err != nil {
		return err
	}
	if m.mem != nil {
		m.mem.watchers.Revoked(key, val, ttl)
	}
	return nil
}

// Subscribe implements store.Revocations: the memory store is never out of
// touch with itself, so w is live at once and stays so.
func (m *Memory) Subscribe(w store.RevocationWatcher) func() {
	if m.mem == nil {
		return func() {}
	}
	m.mem.watchers.SetLive(true)
	return m.mem.watchers.Add(w)
}

// Interface guard
var _ store.Revocations = (*Memory)(nil)
