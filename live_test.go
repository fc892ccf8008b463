package caddyotp

import (
	"context"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// TestLiveHandlers: a handler Caddy loads is in the admin API's reach until
// its config is cleaned up; one provisioned by hand never is.
func TestLiveHandlers(t *testing.T) {
	const issuer = "live-test"
	cfg := `{"sms":{"provider":"log"},"issuer":"` + issuer + `","secret":"` + longSecret + `"}`

	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	mod, err := ctx.LoadModuleByID("http.handlers.phone_otp", []byte(cfg))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if got := live.get(issuer); len(got) != 1 || got[0] != mod.(*Handler) {
		t.Errorf("loaded by Caddy: live = %v, want the handler", got)
	}
	if !slices.Contains(live.issuers(), issuer) {
		t.Errorf("issuers %v lack %s", live.issuers(), issuer)
	}
	cancel() // as when a reload retires the config
	if got := live.get(issuer); len(got) != 0 {
		t.Errorf("after cleanup: live = %v, want none", got)
	}

	h, err := provisionJSON(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := live.get(issuer); len(got) != 0 {
		t.Errorf("provisioned by hand: live = %v, want none", got)
	}
	h.Cleanup() // harmless when never added
}

// TestSharedRecent: a handler takes over the record of the live handler
// it replaces only if both are of one protection domain and one provider
// config, so another site's sends, or the provider a reload replaced,
// never set what a withheld number imitates.
func TestSharedRecent(t *testing.T) {
	const issuer = "test-shared-recent"
	handler := func(site, smsID string) *Handler {
		return &Handler{Site: site, Prefix: "/_otp", Issuer: issuer, CookieName: "otp_session", smsID: smsID}
	}
	old := handler("http://a.example", "p1")
	old.recent = sharedRecent(old)
	live.mu.Lock()
	live.byIssuer[issuer] = append(live.byIssuer[issuer], old)
	live.mu.Unlock()
	t.Cleanup(func() { live.remove(old) })

	for _, tt := range []struct {
		name string
		h    *Handler
		same bool
	}{
		{"a reload of the same site and provider", handler("http://a.example", "p1"), true},
		{"another site, same issuer and provider", handler("http://b.example", "p1"), false},
		{"the same site with another provider config", handler("http://a.example", "p2"), false},
	} {
		if got := sharedRecent(tt.h); (got == old.recent) != tt.same {
			t.Errorf("%s: shares the record %v, want %v", tt.name, got == old.recent, tt.same)
		}
	}
}
