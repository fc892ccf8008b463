package caddyotp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/internal/flow"
)

// live are the provisioned phone_otp handlers, by issuer, for the admin
// API. Caddy builds the admin endpoint's routes apart from the http app,
// with no way to reach the handlers of the config that is running; yet
// unblocking a phone needs the very store, key namespace and clock those
// handlers use. So handlers enter here in Provision and leave in Cleanup.
// Like the memory store's pool, this state outlives any one config: during
// `caddy reload` the new config's handlers are provisioned before the old
// ones are cleaned up, so an issuer is never missing in between.
var live = &liveHandlers{byIssuer: map[string][]*Handler{}}

type liveHandlers struct {
	mu       sync.Mutex
	byIssuer map[string][]*Handler
}

// add registers h if Caddy loaded it as a module of a config (the context's
// module is h itself then). A handler provisioned by hand, as tests and
// the CLI do, is no business of the admin API's.
func (l *liveHandlers) add(ctx caddy.Context, h *Handler) {
	if m, ok := ctx.Module().(*Handler); !ok || m != h {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byIssuer[h.Issuer] = append(l.byIssuer[h.Issuer], h)
}

func (l *liveHandlers) remove(h *Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	hs := slices.DeleteFunc(l.byIssuer[h.Issuer], func(o *Handler) bool { return o == h })
	if len(hs) == 0 {
		delete(l.byIssuer, h.Issuer)
	} else {
		l.byIssuer[h.Issuer] = hs
	}
}

// get returns the handlers of issuer, oldest first.
func (l *liveHandlers) get(issuer string) []*Handler {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.byIssuer[issuer])
}

// issuers returns every live issuer, sorted.
func (l *liveHandlers) issuers() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.byIssuer))
	for iss := range l.byIssuer {
		out = append(out, iss)
	}
	slices.Sort(out)
	return out
}

// Cleanup takes h out of the admin API's reach when its config is unloaded.
func (h *Handler) Cleanup() error {
	live.remove(h)
	domainOwners.release(h)
	h.releaseSessions()
	return nil
}

// Interface guard
var _ caddy.CleanerUpper = (*Handler)(nil)

// providerIdentity names a provider config: its module JSON, hashed (it
// holds credentials). Read before Caddy loads the module, which clears
// the raw JSON.
func providerIdentity(raw json.RawMessage) string {
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// sharedRecent is the record of the handler that h replaces at a reload
// (same protection domain, same provider config), so that a reload does
// not start cold; else a new one. Handlers of one domain (a realm) with
// one provider share it, as they share their limits.
func sharedRecent(h *Handler) *flow.Recent {
	h.recentKey = h.domain() + "\x00" + h.smsID
	for _, o := range slices.Backward(live.get(h.Issuer)) {
		if o.recent != nil && o.recentKey == h.recentKey {
			return o.recent
		}
	}
	return new(flow.Recent)
}
