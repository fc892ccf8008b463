package caddyotp_test

import (
	"testing"
	"time"
)

func TestIntegrationReload(t *testing.T) {
	e := newEnv(t, opts{otp: "session_ttl 12h"})
	early := newBrowser()
	login(t, e.dex, early.here(), "+12015550135")
	const phone = "+12015550136"
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, nil)
	code := e.dex.ReadCode(t, phone)
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})

	e.load(t, opts{otp: "session_ttl 6h", site: "header X-Config reloaded"})

	if r := b.get(t, "/app"); r.Header.Get("X-Config") != "reloaded" {
		t.Fatalf("the new config is not running: %v", r.Header)
	}
	// The attempt counter survived too.
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(wrong(code))+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 1})
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	got := b.get(t, prefix+"/session").wantJSON(t, 200, map[string]any{"phone": phone})
	if exp, _ := got["expires_at"].(float64); exp > float64(time.Now().Add(6*time.Hour+time.Minute).Unix()) {
		t.Errorf("session after reload expires at %v, want the new 6h session_ttl", exp)
	}
	if h := early.get(t, "/app").echo(t).Headers["X-Verified-Phone"]; len(h) != 1 || h[0] != "+12015550135" {
		t.Errorf("session from before the reload: upstream X-Verified-Phone %q", h)
	}
}
