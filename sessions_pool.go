package caddyotp

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/store"
)

// sessionsPool keeps each protection domain's verified-session cache and
// revocation subscription (session.Shared) across `caddy reload`, as the
// memory store keeps its data: Caddy provisions the new config before it
// cleans up the old one, so a Shared that both use never reaches a count
// of zero in between. Sessions verified before a reload then cost no
// store call after it; the new config's rules are applied to each again,
// in memory.
var sessionsPool = caddy.NewUsagePool()

// sharedSessions returns h's Shared: the pooled one of its protection
// domain ns when its store can tell it is the same store as before
// (store.Identity), else one of its own. The pool key names everything a
// cached session was verified against: the store, the domain (the
// audience), the issuer and the session key.
func (h *Handler) sharedSessions(ns string) (*session.Shared, error) {
	id, _ := h.store.(store.Identity)
	if id == nil || id.StoreID() == "" {
		return session.NewShared(h.store, ns, h.now), nil
	}
	sum := sha256.New()
	for _, part := range []string{id.StoreID(), ns, h.Issuer, string(h.keys.Session)} {
		sum.Write([]byte(part))
		sum.Write([]byte{0})
	}
	key := hex.EncodeToString(sum.Sum(nil))
	v, _, err := sessionsPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return session.NewShared(h.store, ns, h.now), nil
	})
	if err != nil {
		return nil, err
	}
	h.sessionsKey = key
	return v.(*session.Shared), nil
}

// newSessions makes h's sessions over its Shared.
func (h *Handler) newSessions(ns string) error {
	sh, err := h.sharedSessions(ns)
	if err != nil {
		return err
	}
	h.sessionsShared = sh
	h.sessions = sh.Sessions(h.keys.Session, h.Issuer, time.Duration(h.SessionTTL), h.store, ns, h.now)
	return nil
}

// releaseSessions lets go of h's Shared at Cleanup: the pooled one is
// closed when the last config using it is cleaned up.
func (h *Handler) releaseSessions() {
	switch {
	case h.sessionsKey != "":
		_, _ = sessionsPool.Delete(h.sessionsKey)
	case h.sessionsShared != nil:
		h.sessionsShared.Close()
	}
}
