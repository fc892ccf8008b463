package caddyotp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// jsonWithout returns the running config as JSON, logging to logFile,
// with edit applied to every phone_otp handler in it (which the test may
// strip of "site", as a hand-written JSON config lacks it).
func jsonWithout(t *testing.T, logFile string, edit func(i int, h map[string]any)) string {
	t.Helper()
	r := admin(t, http.MethodGet, "/config/", "")
	r.wantStatus(t, 200)
	var cfg any
	if err := json.Unmarshal([]byte(r.body), &cfg); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["handler"] == "phone_otp" {
				edit(n, v)
				n++
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(cfg)
	cfg.(map[string]any)["logging"] = map[string]any{"logs": map[string]any{"default": map[string]any{
		"writer": map[string]any{"output": "file", "filename": logFile}, "encoder": map[string]any{"format": "json"}}}}
	if n != 2 {
		t.Fatalf("%d phone_otp handlers in the config, want 2", n)
	}
	b, _ := json.Marshal(cfg)
	return string(b)
}

// TestIntegrationJSONSharedDomain: a JSON config whose two sites' handlers
// have no "site" and the same defaults would share one protection domain;
// that is a load error naming the fix. Told apart (here by cookie_name),
// they load, each with a WARN that its domain comes from those options
// alone.
func TestIntegrationJSONSharedDomain(t *testing.T) {
	s := newSites(t)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	block := func(name string) string {
		return fmt.Sprintf("%s {\n\tphone_otp {\n\t\t%s\n\t\tissuer json-%s\n\t}\n\t%s\n}\n", s.site(name), s.sms(), s.tag, s.proxy())
	}
	s.loadSites(t, block("a")+block("b"))

	shared := jsonWithout(t, logFile, func(_ int, h map[string]any) { delete(h, "site") })
	r := admin(t, http.MethodPost, "/load", shared)
	if r.StatusCode != 400 || !strings.Contains(r.body, `Set \"site\" on each`) || !strings.Contains(r.body, "realm") {
		t.Fatalf("two handlers sharing a derived domain: load %d %s; want 400 naming site and realm", r.StatusCode, r.body)
	}
	// The failed load left the running config alone.
	s.at(newBrowser(), "a").postJSON(t, prefix+"/send", `{"phone":"+12015550960"}`).wantJSON(t, 200, map[string]any{"status": "sent"})

	apart := jsonWithout(t, logFile, func(i int, h map[string]any) {
		delete(h, "site")
		h["cookie_name"] = fmt.Sprintf("otp_session_%d", i)
	})
	admin(t, http.MethodPost, "/load", apart).wantStatus(t, 200)
	if !logHas(t, logFile, "warn", `no "site" and no "realm"`) {
		t.Errorf("no WARN for a handler whose domain comes from prefix, issuer and cookie options alone")
	}

	// A reload of that config is no conflict: the old config's handlers
	// hold the same domains until they are cleaned up. (Caddy skips a
	// load of the very same bytes, so the reload names another log.)
	again := strings.Replace(apart, filepath.Base(logFile), "again.log", 1)
	admin(t, http.MethodPost, "/load", again).wantStatus(t, 200)
	s.at(newBrowser(), "b").postJSON(t, prefix+"/send", `{"phone":"+12015550961"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
}
