package caddyotp_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// TestIntegrationDurableStorageWiped: the memory store, a `secret` from
// the configuration (so the old cookie's signature stays good), and a
// Caddy storage that did not persist (Docker without a /data volume).
// The revocation is gone with the storage; the logged-out cookie must be
// refused all the same, as every session issued before the start is, and
// the loss is an ERROR in the log once such a session shows up.
func TestIntegrationDurableStorageWiped(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	o := opts{
		global: "log {\n\t\toutput file " + logFile + "\n\t\tformat json\n\t}",
		otp:    "secret 0123456789abcdef0123456789abcdef-wiped",
	}
	e := newEnv(t, o)
	b := newBrowser()
	tok := login(t, e.dex, b.here(), "+12015550851")
	b.postJSON(t, prefix+"/logout", ``).wantStatus(t, 200)
	kept := newBrowser()
	login(t, e.dex, kept.here(), "+12015550852")

	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(e.storage)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		if err := os.RemoveAll(filepath.Join(e.storage, de.Name())); err != nil {
			t.Fatal(err)
		}
	}
	e.load(t, o)

	newBrowser().get(t, "/app", "Cookie", "otp_session="+tok).wantJSON(t, 401, map[string]any{"error": "otp_required"})
	kept.get(t, "/app", "Accept", "application/json").wantJSON(t, 401, map[string]any{"error": "otp_required"})
	if !logHas(t, logFile, "error", "storage") {
		t.Errorf("no ERROR line about the storage that lost phone_otp's state")
	}
	// Signing in again works, and survives a restart on storage that
	// does persist.
	again := newBrowser()
	login(t, e.dex, again.here(), "+12015550853")
	e.restart(t, o)
	again.get(t, "/app").wantStatus(t, 200)
}
