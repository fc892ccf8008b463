package caddyotp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/memory"
)

// eventually polls ok every 50ms for up to 2s: a session check may be
// cached for a second, so a revocation shows within that.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; {
		if ok() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not so after 2s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIntegrationAdmin(t *testing.T) {
	e := newEnv(t, opts{})
	const phone, other = "+12015550181", "+12015550182"
	iss := `"issuer":"` + e.issuer + `"`

	// The 3-attempt rule blocks the phone.
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantStatus(t, 200)
	bad := wrong(e.dex.ReadCode(t, phone))
	for range 2 {
		b.postJSON(t, prefix+"/verify", `{"code":"`+bad+`"}`).wantStatus(t, 401)
	}
	b.postJSON(t, prefix+"/verify", `{"code":"`+bad+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})

	t.Run("issuers", func(t *testing.T) {
		r := admin(t, http.MethodGet, "/phone_otp/", "")
		r.wantStatus(t, 200)
		want := fmt.Sprintf(`{"issuers":[{"issuer":%q,"handlers":1,"store":"memory","can_list_blocked":true,"can_read_budget":true,"limit_global":1000,"domains":[{"domain":"site:`, e.issuer)
		if !strings.HasPrefix(strings.TrimSpace(r.body), want) {
			t.Errorf("issuers = %s, want %s", r.body, want)
		}
	})

	t.Run("list blocked", func(t *testing.T) {
		got := admin(t, http.MethodGet, "/phone_otp/blocked?issuer="+e.issuer, "").wantJSON(t, 200, map[string]any{"issuer": e.issuer})
		list, _ := got["blocked"].([]any)
		if len(list) != 1 {
			t.Fatalf("blocked = %v, want one phone", got["blocked"])
		}
		entry := list[0].(map[string]any)
		if entry["phone"] != phone {
			t.Errorf("blocked phone %v, want %s", entry["phone"], phone)
		}
		if s, _ := entry["retry_after"].(float64); s < 890 || s > 900 {
			t.Errorf("retry_after %v, want about 900", entry["retry_after"])
		}
	})

	t.Run("unblock, then it gets a code and verifies", func(t *testing.T) {
		// No issuer: the only one running is meant.
		admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+phone+`"}`).
			wantJSON(t, 200, map[string]any{"phone": phone, "was_blocked": true, "issuer": e.issuer})
		got := admin(t, http.MethodGet, "/phone_otp/blocked", "").wantJSON(t, 200, nil)
		if list, _ := got["blocked"].([]any); len(list) != 0 {
			t.Errorf("still blocked after unblock: %v", list)
		}
		admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+phone+`",`+iss+`}`).
			wantJSON(t, 200, map[string]any{"was_blocked": false})

		login(t, e.dex, newBrowser().here(), phone)
		if n := e.dex.Sent(phone); n != 2 {
			t.Errorf("%d codes sent, want 2", n)
		}
	})

	t.Run("budget", func(t *testing.T) {
		r := admin(t, http.MethodGet, "/phone_otp/budget?issuer="+e.issuer, "")
		got := r.wantJSON(t, 200, map[string]any{"issuer": e.issuer, "limit": 1000, "used": 2, "remaining": 998})
		if s, _ := got["resets_in"].(float64); s < 3500 || s > 3600 {
			t.Errorf("resets_in %v, want just under an hour", got["resets_in"])
		}
	})

	t.Run("revoke every session of a phone", func(t *testing.T) {
		b1, b2, bo := newBrowser(), newBrowser(), newBrowser()
		// Each new code needs the resend gap gone; an unblock clears it.
		for _, br := range []*browser{b1, b2} {
			admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+phone+`"}`).wantStatus(t, 200)
			login(t, e.dex, br.here(), phone)
		}
		login(t, e.dex, bo.here(), other)
		for _, br := range []*browser{b1, b2, bo} {
			br.get(t, "/app/").echo(t)
		}

		admin(t, http.MethodPost, "/phone_otp/revoke", `{"phone":"`+phone+`",`+iss+`}`).
			wantJSON(t, 200, map[string]any{"status": "revoked", "phone": phone})
		for i, br := range []*browser{b1, b2} {
			eventually(t, fmt.Sprintf("session %d of the revoked phone refused", i+1), func() bool {
				return br.get(t, "/app/").StatusCode == 401
			})
		}
		bo.get(t, "/app/").echo(t)
	})

	t.Run("bad requests", func(t *testing.T) {
		tests := []struct {
			method, path, body string
			status             int
		}{
			{"POST", "/phone_otp/unblock", `{"phone":"2015550181"}`, 400},
			{"POST", "/phone_otp/unblock", `{"phone":"+1201555018"}`, 400},
			{"POST", "/phone_otp/revoke", `{"phone":"` + phone + `","extra":1}`, 400},
			{"POST", "/phone_otp/revoke", `not json`, 400},
			// Trailing data after the JSON body, which the public API
			// refuses too (issue 23, point 5).
			{"POST", "/phone_otp/unblock", `{"phone":"` + phone + `"} x`, 400},
			{"POST", "/phone_otp/revoke", `{"phone":"` + phone + `"}{"phone":"` + phone + `"}`, 400},
			{"POST", "/phone_otp/revoke", `{"phone":"` + phone + `"}}`, 400},
			{"POST", "/phone_otp/unblock", `{"phone":"` + phone + `","issuer":"nobody"}`, 404},
			{"GET", "/phone_otp/blocked?issuer=nobody", "", 404},
			{"GET", "/phone_otp/unblock", "", 405},
			{"POST", "/phone_otp/blocked", `{}`, 405},
			{"DELETE", "/phone_otp/", "", 405},
			{"GET", "/phone_otp/nothing", "", 404},
		}
		for _, tt := range tests {
			r := admin(t, tt.method, tt.path, tt.body)
			if r.StatusCode != tt.status {
				t.Errorf("%s %s %s: %d, want %d: %s", tt.method, tt.path, tt.body, r.StatusCode, tt.status, r.body)
			}
			if strings.Contains(r.body, "2015550181") || strings.Contains(r.body, "201555018\"") {
				t.Errorf("%s %s: the answer repeats the phone: %s", tt.method, tt.path, r.body)
			}
		}
	})
}

// TestIntegrationAdminIssuers runs two handlers with issuers of their own,
// one on a store that cannot list keys.
func TestIntegrationAdminIssuers(t *testing.T) {
	e := newEnv(t, opts{site: fmt.Sprintf(`@other path /other/*
	handle @other {
		phone_otp {
			sms log
			store otp_test_nolist
			prefix /other/_otp
			issuer %s-other
			secret 0123456789abcdef0123456789abcdef
		}
		respond "other"
	}`, issuerFor(t))})
	otherIss := issuerFor(t) + "-other"

	r := admin(t, http.MethodGet, "/phone_otp/", "")
	r.wantStatus(t, 200)
	for _, want := range []string{
		fmt.Sprintf(`{"issuer":%q,"handlers":1,"store":"memory","can_list_blocked":true`, e.issuer),
		fmt.Sprintf(`{"issuer":%q,"handlers":1,"store":"otp_test_nolist","can_list_blocked":false,"can_read_budget":false`, otherIss),
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("issuers lack %s: %s", want, r.body)
		}
	}

	r = admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"+12015550183"}`)
	if r.StatusCode != 400 || !strings.Contains(r.body, e.issuer) || !strings.Contains(r.body, otherIss) {
		t.Errorf("unblock with no issuer among two: %d %s; want 400 naming both", r.StatusCode, r.body)
	}
	admin(t, http.MethodGet, "/phone_otp/blocked?issuer="+otherIss, "").wantStatus(t, 501)
	admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"+12015550183","issuer":"`+otherIss+`"}`).
		wantJSON(t, 200, map[string]any{"was_blocked": false})
	admin(t, http.MethodGet, "/phone_otp/budget?issuer="+otherIss, "").wantStatus(t, 501)
}

// issuerFor is a name for a second issuer, derived from the test's.
func issuerFor(t *testing.T) string {
	return "it-" + strings.ReplaceAll(t.Name(), "/", "-")
}

func init() {
	caddy.RegisterModule(noListStore{})
}

// noListStore is a store that cannot list keys or read windows, as a
// third-party one may be.
type noListStore struct{ store.Store }

func (noListStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  store.Namespace + ".otp_test_nolist",
		New: func() caddy.Module { return new(noListStore) },
	}
}

func (s *noListStore) Provision(caddy.Context) error {
	s.Store = memory.New(nil) // as a Store only: Keys is hidden
	return nil
}

func (*noListStore) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	return nil
}
