package caddyotp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestIntegrationAdminBudgetPerDomain: each protection domain has its own
// limit_global window, so the budget reports each, and issuers lists
// each handler's domain. Two sites of one issuer, sends on each.
func TestIntegrationAdminBudgetPerDomain(t *testing.T) {
	s := newSites(t)
	iss := "budget-" + s.tag
	block := func(name string, limit int) string {
		return fmt.Sprintf("%s {\n\tphone_otp {\n\t\t%s\n\t\tissuer %s\n\t\tlimit_global %d\n\t}\n\t%s\n}\n",
			s.site(name), s.sms(), iss, limit, s.proxy())
	}
	s.loadSites(t, block("one", 50)+block("two", 70))
	one, two := s.at(newBrowser(), "one"), s.at(newBrowser(), "two")
	for i := range 3 {
		one.postJSON(t, prefix+"/send", fmt.Sprintf(`{"phone":"+1201555%04d"}`, 900+i)).wantJSON(t, 200, map[string]any{"status": "sent"})
	}
	two.postJSON(t, prefix+"/send", `{"phone":"+12015550910"}`).wantJSON(t, 200, map[string]any{"status": "sent"})

	got := admin(t, http.MethodGet, "/phone_otp/budget?issuer="+iss, "").wantJSON(t, 200, map[string]any{"issuer": iss})
	for _, k := range []string{"limit", "used", "remaining"} {
		if _, ok := got[k]; ok {
			t.Errorf("budget of two domains has a single %q: %v", k, got)
		}
	}
	domains, _ := got["domains"].([]any)
	if len(domains) != 2 {
		t.Fatalf("budget domains = %v, want two", got["domains"])
	}
	bySite := map[string]map[string]any{}
	for _, d := range domains {
		m := d.(map[string]any)
		site, _ := m["site"].(string)
		if id, _ := m["domain"].(string); id == "" {
			t.Errorf("domain entry without its id: %v", m)
		}
		bySite[site] = m
	}
	for name, want := range map[string][3]float64{"one": {50, 3, 47}, "two": {70, 1, 69}} {
		var m map[string]any
		for site, e := range bySite {
			if site != "" && strings.Contains(site, s.host(name)) {
				m = e
			}
		}
		if m == nil {
			t.Errorf("no budget entry for site %s in %v", name, domains)
			continue
		}
		if m["limit"] != want[0] || m["used"] != want[1] || m["remaining"] != want[2] {
			t.Errorf("site %s: budget %v, want limit %v used %v remaining %v", name, m, want[0], want[1], want[2])
		}
		if r, _ := m["resets_in"].(float64); r < 3500 || r > 3600 {
			t.Errorf("site %s: resets_in %v, want just under an hour", name, m["resets_in"])
		}
	}

	r := admin(t, http.MethodGet, "/phone_otp/", "").wantJSON(t, 200, nil)
	for _, v := range r["issuers"].([]any) {
		m := v.(map[string]any)
		if m["issuer"] != iss {
			continue
		}
		if ds, _ := m["domains"].([]any); len(ds) != 2 {
			t.Errorf("issuers: %v, want the two domains listed", m)
		}
		return
	}
	t.Errorf("issuers lack %s: %v", iss, r)
}
