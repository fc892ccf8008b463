package caddyotp

import (
	"fmt"
	"sync"

	"github.com/caddyserver/caddy/v2"
)

// Without realm, a handler's protection domain is derived from site,
// prefix, issuer, cookie_name and cookie_domain (see domain). The
// Caddyfile adapter fills site; a JSON config written by hand may not,
// and then two handlers on default options would silently share one
// domain: each would accept the other's sessions and count the other's
// sends. domainOwners refuses that within one config.
//
// Only within one config: during `caddy reload` the old config's
// handlers are still provisioned (see live) and hold the same domains, as
// they should. A config is told apart by its context's Done channel: Caddy
// makes one cancellable context per config load, and the http app wraps
// it per server only with values, which share their parent's Done.
var domainOwners = &domainClaims{byConfig: map[<-chan struct{}]map[string]*Handler{}, of: map[*Handler]claim{}}

type domainClaims struct {
	mu       sync.Mutex
	byConfig map[<-chan struct{}]map[string]*Handler // config -> domain -> handler
	of       map[*Handler]claim
}

type claim struct {
	config <-chan struct{}
	domain string
}

// claim records that h, loaded by ctx's config, holds domain ns; it is an
// error if another handler of that config holds it already. A handler with
// a realm shares its domain on purpose, and one provisioned outside a
// config (tests, the CLI) has nothing to compare with.
func (c *domainClaims) claim(ctx caddy.Context, h *Handler, ns string) error {
	done := ctx.Done()
	if h.Realm != "" || done == nil {
		return nil
	}
	if m, ok := ctx.Module().(*Handler); !ok || m != h {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.byConfig[done]
	if m == nil {
		m = map[string]*Handler{}
		c.byConfig[done] = m
	}
	if other, ok := m[ns]; ok && other != h {
		return fmt.Errorf(`protection domain %s: another phone_otp handler of this config (site %q) has the same one, derived from site %q, prefix %q, issuer %q, cookie_name %q and cookie_domain %q; `+
			`they would accept each other's sessions and share limits and blocks. Set "site" on each to where it sits (the Caddyfile does this for you), or the same "realm" on both to share one sign-in on purpose`,
			ns, other.Site, h.Site, h.Prefix, h.Issuer, h.CookieName, h.CookieDomain)
	}
	m[ns] = h
	c.of[h] = claim{done, ns}
	return nil
}

// release forgets h's claim when its config is unloaded (or failed).
func (c *domainClaims) release(h *Handler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.of[h]
	if !ok {
		return
	}
	delete(c.of, h)
	m := c.byConfig[cl.config]
	if m[cl.domain] == h {
		delete(m, cl.domain)
	}
	if len(m) == 0 {
		delete(c.byConfig, cl.config)
	}
}
