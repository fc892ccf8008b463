package caddyotp

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// adaptHandlers adapts a Caddyfile and returns its phone_otp handlers in
// the order they appear in the JSON.
func adaptHandlers(t *testing.T, cf string) ([]Handler, error) {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		return nil, err
	}
	var hs []Handler
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["handler"] == "phone_otp" {
				raw, _ := json.Marshal(v)
				var h Handler
				if err := json.Unmarshal(raw, &h); err != nil {
					t.Fatal(err)
				}
				hs = append(hs, h)
				return
			}
			for _, k := range []string{"apps", "http", "servers", "srv0", "srv1", "routes", "handle"} {
				if c, ok := v[k]; ok {
					walk(c)
				}
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	var root any
	if err := json.Unmarshal(out, &root); err != nil {
		t.Fatal(err)
	}
	walk(root)
	return hs, nil
}

// TestSiteKeysFromHelper guards the one read of Caddy's internals: the
// Caddyfile adapter's Helper keeps the site block unexported, and site is
// read from it with reflect. If Caddy changes that, this fails (and the
// adapter refuses configs without realm rather than merge domains).
func TestSiteKeysFromHelper(t *testing.T) {
	hs, err := adaptHandlers(t, `b.example.com a.example.com {
	phone_otp {
		sms log
	}
	@admin path /admin*
	phone_otp @admin {
		sms log
		prefix /_otpa
	}
	phone_otp /x* {
		sms log
		prefix /_otpx
	}
	respond "hi"
}
`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hs {
		got = append(got, h.Site)
	}
	// Caddy orders routes by their matchers; the order is not at issue.
	slices.Sort(got)
	want := []string{"a.example.com b.example.com", "a.example.com b.example.com /x*", "a.example.com b.example.com @admin"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("site = %q, want %q", got, want)
	}
}

// TestDomainDerived: the default domain tells handlers apart by site,
// matcher, prefix, issuer and cookie names, and by nothing else: limits
// and rules keep it, and it needs no state (the same config on another
// instance or after a restart gets the same).
func TestDomainDerived(t *testing.T) {
	base := func() *Handler {
		h := &Handler{Site: "a.example.com", LimitIP: 5, Allow: []string{"+12015550123"}}
		h.setDefaults()
		return h
	}
	d := base().domain()
	if d != base().domain() {
		t.Fatal("the same config gets two domains")
	}
	differs := map[string]func(*Handler){
		"site":          func(h *Handler) { h.Site = "b.example.com" },
		"matcher":       func(h *Handler) { h.Site += " @admin" },
		"prefix":        func(h *Handler) { h.Prefix = "/_otpa" },
		"issuer":        func(h *Handler) { h.Issuer = "other" },
		"cookie_name":   func(h *Handler) { h.CookieName = "sid" },
		"cookie_domain": func(h *Handler) { h.CookieDomain = "example.com" },
		"realm":         func(h *Handler) { h.Realm = "shared" },
	}
	for name, change := range differs {
		h := base()
		change(h)
		if h.domain() == d {
			t.Errorf("changing %s keeps the domain", name)
		}
	}
	same := map[string]func(*Handler){
		"limits":      func(h *Handler) { h.LimitIP, h.LimitPhone, h.MaxAttempts = 1000, 1, 10 },
		"allow":       func(h *Handler) { h.Allow = nil },
		"countries":   func(h *Handler) { h.Countries = []string{"DE"} },
		"session_ttl": func(h *Handler) { h.SessionTTL *= 2 },
		"secret":      func(h *Handler) { h.Secret = longSecret },
	}
	for name, change := range same {
		h := base()
		change(h)
		if h.domain() != d {
			t.Errorf("changing %s changes the domain", name)
		}
	}
	// A realm is the domain whatever else differs.
	a, b := base(), base()
	a.Realm, b.Realm, b.Site, b.Prefix = "shared", "shared", "b.example.com", "/_otpb"
	if a.domain() != b.domain() || a.domain() != "realm:shared" {
		t.Errorf("one realm, domains %q and %q", a.domain(), b.domain())
	}
}

// TestCaddyfileDomains: two sites, or two handlers on one site, with
// identical phone_otp blocks get different domains; two handlers one
// site cannot tell apart are a config error unless they name a realm.
func TestCaddyfileDomains(t *testing.T) {
	domains := func(cf string) []string {
		t.Helper()
		hs, err := adaptHandlers(t, cf)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range hs {
			h.setDefaults()
			out = append(out, h.domain())
		}
		return out
	}
	two := domains(`a.example.com {
	phone_otp {
		sms log
	}
}
b.example.com {
	phone_otp {
		sms log
	}
}
`)
	if len(two) != 2 || two[0] == two[1] {
		t.Errorf("two sites: domains %q", two)
	}
	oneHost := domains(`a.example.com {
	@app path /app* /_otp/*
	@admin path /admin* /_otpa/*
	phone_otp @app {
		sms log
	}
	phone_otp @admin {
		sms log
	}
}
`)
	if len(oneHost) != 2 || oneHost[0] == oneHost[1] {
		t.Errorf("one host, two matchers: domains %q", oneHost)
	}

	_, err := adaptHandlers(t, `a.example.com {
	handle /app* {
		phone_otp {
			sms log
		}
	}
	handle /admin* {
		phone_otp {
			sms log
		}
	}
}
`)
	if err == nil || !strings.Contains(err.Error(), "realm") || !strings.Contains(err.Error(), "Caddyfile:8") ||
		!strings.Contains(err.Error(), "Caddyfile:3") {
		t.Errorf("two handlers one site cannot tell apart: err = %v, want one naming both places and realm", err)
	}
	shared := domains(`a.example.com {
	handle /app* {
		phone_otp {
			sms log
			realm app
		}
	}
	handle /admin* {
		phone_otp {
			sms log
			realm app
		}
	}
}
`)
	if len(shared) != 2 || shared[0] != shared[1] {
		t.Errorf("one realm: domains %q", shared)
	}
}

// TestReadmeRealmExample adapts the documented example of one sign-in for
// several sites (docs/protection-domains.md): every handler in it names one
// realm, with one secret, and sets cookie_domain.
func TestReadmeRealmExample(t *testing.T) {
	data, err := os.ReadFile("docs/protection-domains.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## One sign-in for several sites")
	if !ok {
		t.Fatal(`docs/protection-domains.md has no "One sign-in for several sites" section`)
	}
	m := regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindStringSubmatch(section)
	if m == nil {
		t.Fatal("the section has no Caddyfile example")
	}
	hs, err := adaptHandlers(t, m[1])
	if err != nil {
		t.Fatalf("adapt:\n%s\n%v", m[1], err)
	}
	if len(hs) < 2 {
		t.Fatalf("the example has %d phone_otp handlers, want several", len(hs))
	}
	for i, h := range hs {
		if h.Realm == "" || h.Realm != hs[0].Realm || h.Secret == "" || h.Secret != hs[0].Secret || h.CookieDomain == "" {
			t.Errorf("handler %d: realm %q, secret %q, cookie_domain %q; want one realm and secret, and cookie_domain",
				i, h.Realm, h.Secret, h.CookieDomain)
		}
		if h.Site == hs[0].Site && i > 0 {
			t.Errorf("handler %d is on the same site as the first", i)
		}
	}
}
