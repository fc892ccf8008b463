package caddyotp_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/internal/redistest"
)

// restart stops the in-process Caddy fully, so that every module is
// cleaned up and the memory store's pool is released (what a new process
// would start from), then starts o on the same storage folder.
func (e *env) restart(t *testing.T, o opts) {
	t.Helper()
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	e.load(t, o)
}

// TestIntegrationDurableMemoryRestart: with the memory store, a logged-out
// session stays refused and a block stays in force across a Caddy
// restart (the generated secret, kept in storage, makes the old cookie's
// signature good again; only the kept revocation refuses it).
func TestIntegrationDurableMemoryRestart(t *testing.T) {
	e := newEnv(t, opts{})
	const loggedOut, blocked, pending = "+12015550801", "+12015550802", "+12015550803"

	b := newBrowser()
	tok := login(t, e.dex, b.here(), loggedOut)
	b.postJSON(t, prefix+"/logout", ``).wantStatus(t, 200)
	stolen := newBrowser()
	stolen.get(t, "/app", "Cookie", "otp_session="+tok).wantJSON(t, 401, map[string]any{"error": "otp_required"})

	bb := newBrowser()
	bb.postJSON(t, prefix+"/send", `{"phone":"`+blocked+`"}`).wantStatus(t, 200)
	bad := wrong(e.dex.ReadCode(t, blocked))
	for range 2 {
		bb.postJSON(t, prefix+"/verify", `{"code":"`+bad+`"}`).wantStatus(t, 401)
	}
	bb.postJSON(t, prefix+"/verify", `{"code":"`+bad+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})

	// A send window is not durable: that it is gone after the restart
	// shows the store really started afresh.
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+pending+`"}`).wantStatus(t, 200)
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+pending+`"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})

	e.restart(t, opts{})

	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+pending+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
	stolen.get(t, "/app", "Cookie", "otp_session="+tok).wantJSON(t, 401, map[string]any{"error": "otp_required"})
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+blocked+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})

	// A session signed in before the restart and not revoked still works.
	ok := newBrowser()
	login(t, e.dex, ok.here(), loggedOut)
	e.restart(t, opts{})
	ok.get(t, "/app").wantStatus(t, 200)
}

// TestIntegrationDurableRedisLost: Redis restarts empty (no persistence).
// The logged-out cookie is refused all the same, because sessions issued
// before the loss are; the loss is an ERROR in the log and a metric.
func TestIntegrationDurableRedisLost(t *testing.T) {
	srv := redistest.Start(t)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	o := opts{
		global: "metrics\n\tlog {\n\t\toutput file " + logFile + "\n\t\tformat json\n\t}",
		otp:    "store redis " + srv.Addr + " {\n\t\t\tkey_prefix lost:\n\t\t}",
	}
	e := newEnv(t, o)
	before := scrape(t)

	b := newBrowser()
	tok := login(t, e.dex, b.here(), "+12015550811")
	b.postJSON(t, prefix+"/logout", ``).wantStatus(t, 200)
	stolen := newBrowser()
	stolen.get(t, "/app", "Cookie", "otp_session="+tok).wantJSON(t, 401, map[string]any{"error": "otp_required"})
	kept := newBrowser()
	login(t, e.dex, kept.here(), "+12015550813")
	kept.get(t, "/app").wantStatus(t, 200)

	srv.Stop()
	srv.Restart()

	stolen.get(t, "/app", "Cookie", "otp_session="+tok).wantJSON(t, 401, map[string]any{"error": "otp_required"})
	// What was lost cannot be told apart: every session issued before the
	// loss must verify again (docs/several-instances.md, "When Redis comes back empty"), once
	// its cached check is due (at most a second).
	eventually(t, "a session from before the loss refused", func() bool {
		return kept.get(t, "/app", "Accept", "application/json").StatusCode == 401
	})

	after := scrape(t)
	const lost = "caddy_phone_otp_store_data_lost_total"
	if after[lost]-before[lost] != 1 {
		t.Errorf("%s went from %v to %v, want one more", lost, before[lost], after[lost])
	}
	if !logHas(t, logFile, "error", "data lost") {
		t.Errorf("no ERROR line about the lost data in the log")
	}

	// A fresh sign-in works on the new Redis.
	login(t, e.dex, newBrowser().here(), "+12015550812")
}

// logHas reports whether Caddy's JSON log file has a line at level whose
// message contains msg.
func logHas(t *testing.T, path, level, msg string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Level == level && strings.Contains(l.Msg, msg) {
			return true
		}
	}
	return false
}

// TestIntegrationAdminRevokeEndsDevices: admin revoke of a phone ends its
// remembered devices too, so the device cookie no longer signs in.
func TestIntegrationAdminRevokeEndsDevices(t *testing.T) {
	sf := newSecondFactor(t, "remember_device 720h", "")
	b := newBrowser()
	dev := sf.rememberAlice(t, b)

	got := admin(t, http.MethodPost, "/phone_otp/revoke", `{"phone":"`+alicePhone+`"}`).
		wantJSON(t, 200, map[string]any{"phone": alicePhone, "status": "revoked"})
	if s, _ := got["ended"].(string); !strings.Contains(s, "device") {
		t.Errorf("revoke answer does not say it ended devices: %v", got)
	}

	// A session made from the device in the second of the revoke would be
	// refused by the session's own check: the device must be refused in
	// a later second, where only its own check can refuse it.
	for s := time.Now().Unix(); time.Now().Unix() == s; {
		time.Sleep(20 * time.Millisecond)
	}
	eventually(t, "session refused after revoke", func() bool {
		return b.get(t, "/app", as("alice", "Accept", "application/json")...).StatusCode == 401
	})
	thief := newBrowser()
	r := thief.get(t, "/app", as("alice", "Cookie", "otp_session_device="+dev.Value)...)
	r.wantJSON(t, 401, map[string]any{"error": "otp_required"})
	if r.setCookie("otp_session") != nil {
		t.Error("the revoked device got a new session")
	}
}
