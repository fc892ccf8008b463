package caddyotp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// loadInConfig loads a phone_otp handler from cfg as a config would, into
// ctx (one context per config load).
func loadInConfig(ctx caddy.Context, cfg string) (*Handler, error) {
	m, err := ctx.LoadModuleByID("http.handlers.phone_otp", json.RawMessage(cfg))
	if err != nil {
		return nil, err
	}
	return m.(*Handler), nil
}

func TestDomainClaims(t *testing.T) {
	withSite := func(site string) string { return pageCfg[:len(pageCfg)-1] + `,"site":"` + site + `"}` }
	withRealm := pageCfg[:len(pageCfg)-1] + `,"realm":"shop"}`
	for _, tc := range []struct {
		name    string
		a, b    string
		wantErr bool
	}{
		{"same derived domain", pageCfg, pageCfg, true},
		{"same site", withSite("a.example"), withSite("a.example"), true},
		{"other sites", withSite("a.example"), withSite("b.example"), false},
		{"one realm on purpose", withRealm, withRealm, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			if _, err := loadInConfig(ctx, tc.a); err != nil {
				t.Fatal(err)
			}
			_, err := loadInConfig(ctx, tc.b)
			if tc.wantErr != (err != nil) {
				t.Fatalf("second handler: err %v, want an error %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "another phone_otp handler of this config") {
				t.Errorf("error %q does not say why", err)
			}
		})
	}
}

// TestDomainClaimsPerConfig: during a reload the old config's handler
// holds the domain still; the new config's may hold it too. Once the old
// config is unloaded its claim is gone.
func TestDomainClaimsPerConfig(t *testing.T) {
	old, cancelOld := caddy.NewContext(caddy.Context{Context: context.Background()})
	h, err := loadInConfig(old, pageCfg)
	if err != nil {
		t.Fatal(err)
	}
	cur, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if _, err := loadInConfig(cur, pageCfg); err != nil {
		t.Fatalf("the new config's handler is refused while the old one runs: %v", err)
	}
	cancelOld()
	domainOwners.mu.Lock()
	_, held := domainOwners.of[h]
	_, cfg := domainOwners.byConfig[old.Done()]
	domainOwners.mu.Unlock()
	if held || cfg {
		t.Errorf("the unloaded config still holds its claim (handler %v, config %v)", held, cfg)
	}
	// Provisioned outside any config (tests, the CLI): nothing to compare.
	if _, err := provisionJSON(t, pageCfg); err != nil {
		t.Error(err)
	}
}
