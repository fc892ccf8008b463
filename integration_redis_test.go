package caddyotp_test

import (
	"fmt"
	"testing"

	"github.com/caddyotp/caddyotp/internal/redistest"
)

// TestIntegrationRedisReload runs the in-process Caddy on store redis
// across a `caddy reload`: the new config gets a new client, and the
// sessions, attempt counters and send limits in Redis carry over.
func TestIntegrationRedisReload(t *testing.T) {
	srv := redistest.Start(t)
	store := "store redis " + srv.Addr + " {\n\t\t\tkey_prefix reload:\n\t\t}"
	e := newEnv(t, opts{otp: store})
	early := newBrowser()
	login(t, e.dex, early.here(), "+12015550401")
	const phone = "+12015550402"
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, nil)
	code := e.dex.ReadCode(t, phone)
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 2})

	e.load(t, opts{otp: store, site: "header X-Config reloaded"})

	if r := b.get(t, "/app"); r.Header.Get("X-Config") != "reloaded" {
		t.Fatalf("the new config is not running: %v", r.Header)
	}
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
	b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(wrong(code))+`"}`).wantJSON(t, 401, map[string]any{"attempts_left": 1})
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	if h := early.get(t, "/app").echo(t).Headers["X-Verified-Phone"]; len(h) != 1 || h[0] != "+12015550401" {
		t.Errorf("session from before the reload: upstream X-Verified-Phone %q", h)
	}
	if n := e.dex.Sent(phone); n != 1 {
		t.Errorf("%d SMS, want 1", n)
	}
}

// TestIntegrationRedisReloadKeepsSessions: a `caddy reload` that leaves
// phone_otp's config as it was (an edit elsewhere in the site) keeps the
// verified sessions: the requests after it make no Redis read at all, and
// a logout after it still ends the session at once. A reload that narrows
// the rules still refuses the sessions it cuts at once
// (TestIntegrationReloadNarrowsAllow and its kin).
func TestIntegrationRedisReloadKeepsSessions(t *testing.T) {
	srv := redistest.Start(t)
	otp := "store redis " + srv.Addr + " {\n\t\t\tkey_prefix keep:\n\t\t}"
	e := newEnv(t, opts{otp: otp})
	var bs []*browser
	for i := range 8 {
		b := newBrowser()
		login(t, e.dex, b.here(), fmt.Sprintf("+1201555%04d", 410+i))
		b.get(t, "/app").echo(t) // verified and cached
		bs = append(bs, b)
	}
	e.load(t, opts{otp: otp, site: "header X-Config reloaded"})

	reads := storeReads(t, srv)
	for i, b := range bs {
		r := b.get(t, "/app")
		if r.Header.Get("X-Config") != "reloaded" {
			t.Fatalf("the new config is not running: %v", r.Header)
		}
		if h := r.echo(t).Headers["X-Verified-Phone"]; len(h) != 1 || h[0] != fmt.Sprintf("+1201555%04d", 410+i) {
			t.Fatalf("session %d after the reload: upstream X-Verified-Phone %q", i, h)
		}
	}
	if n := storeReads(t, srv) - reads; n != 0 {
		t.Errorf("8 sessions verified before the reload made %d Redis reads after it, want 0", n)
	}
	bs[0].postJSON(t, prefix+"/logout", ``).wantJSON(t, 200, nil)
	if st := bs[0].get(t, "/app").StatusCode; st != 401 {
		t.Errorf("a session logged out after the reload: %d, want 401", st)
	}
}

// TestIntegrationRedisRoundTrips signs in once through the real Caddy on
// store redis and reads caddy_phone_otp_store_round_trips_total from the
// admin /metrics around each step: a send is at most three round trips
// (its decision two, and its code), a verify at most two.
func TestIntegrationRedisRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	e := newEnv(t, opts{otp: "store redis " + srv.Addr + " {\n\t\t\tkey_prefix trips:\n\t\t}"})
	const phone = "+447400123456"
	const metric = "caddy_phone_otp_store_round_trips_total"
	trips := func() float64 {
		t.Helper()
		v, ok := scrape(t)[metric]
		if !ok {
			t.Fatalf("no %s in /metrics", metric)
		}
		return v
	}
	// A first sign-in: the connections are made and the scripts loaded.
	warm := newBrowser()
	warm.postJSON(t, prefix+"/send", `{"phone":"+447400129999"}`).wantStatus(t, 200)
	warm.postJSON(t, prefix+"/verify", `{"code":"`+e.dex.ReadCode(t, "+447400129999")+`"}`).wantStatus(t, 200)

	b := newBrowser()
	before := trips()
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	sent := trips()
	b.postJSON(t, prefix+"/verify", `{"code":"`+e.dex.ReadCode(t, phone)+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
	verified := trips()
	if d := sent - before; d < 1 || d > 3 {
		t.Errorf("a send made %v round trips, want at most 3 (its decision two, and its code)", d)
	}
	if d := verified - sent; d < 1 || d > 2 {
		t.Errorf("a verify made %v round trips, want at most 2", d)
	}
	t.Logf("round trips: send %v, verify %v", sent-before, verified-sent)
}
