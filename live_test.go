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
