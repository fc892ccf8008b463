package caddyotp_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fake"
	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/memory"
)

// TestIntegrationAdminRevokeOutlivesSessionTTL: an admin revoke ends the
// phone's remembered devices, which live for remember_device, longer than
// session_ttl; so the record of the revoke must live as long, or the
// device signs in again without an SMS once session_ttl has passed. The
// store's clock is stepped past session_ttl, as if the time had passed.
func TestIntegrationAdminRevokeOutlivesSessionTTL(t *testing.T) {
	clk := fake.NewClock()
	name := fmt.Sprintf("revoke-%d", rand.Uint64())
	steppedClocks.Store(name, clk)
	t.Cleanup(func() { steppedClocks.Delete(name) })
	sf := newSecondFactor(t, "remember_device 720h\n\t\tsession_ttl 1h\n\t\tstore otp_test_stepped "+name, "")

	aliceDev := sf.rememberAlice(t, newBrowser())
	// carol's device is not revoked: stepping the store's clock alone
	// ends no device.
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{}`, as("carol")...).wantJSON(t, 200, nil)
	r := b.postJSON(t, prefix+"/verify", `{"code":"`+sf.dex.ReadCode(t, carolPhone)+`","remember":true}`, as("carol")...)
	r.wantJSON(t, 200, map[string]any{"status": "verified"})
	carolDev := r.setCookie("otp_session_device")
	if carolDev == nil {
		t.Fatal("no device cookie for carol")
	}

	admin(t, http.MethodPost, "/phone_otp/revoke", `{"phone":"`+alicePhone+`","issuer":"`+sf.issuer+`"}`).
		wantJSON(t, 200, map[string]any{"status": "revoked"})
	device := func(user string, dev *http.Cookie) *response {
		return newBrowser().get(t, "/app", as(user, "Accept", "application/json", "Cookie", "otp_session_device="+dev.Value)...)
	}
	device("alice", aliceDev).wantJSON(t, 401, map[string]any{"error": "otp_required"})

	clk.Step(time.Hour + 2*time.Minute) // past session_ttl, well within remember_device
	r = device("alice", aliceDev)
	r.wantJSON(t, 401, map[string]any{"error": "otp_required"})
	if r.setCookie("otp_session") != nil {
		t.Error("the revoked device got a session once session_ttl had passed")
	}
	if r := device("carol", carolDev); r.StatusCode != 200 || r.setCookie("otp_session") == nil {
		t.Errorf("carol's device, never revoked, after the step: %d %.200s", r.StatusCode, r.body)
	}
}

// TestIntegrationAdminRevokeReachesEveryHandler: one issuer may run
// several handlers, each with its sessions in its own protection domain
// or on its own store; an admin revoke of a phone must end its sessions
// on every one of them, not just the first.
func TestIntegrationAdminRevokeReachesEveryHandler(t *testing.T) {
	const phone = "+12015550171"
	for _, tc := range []struct {
		name string
		// b's extra lines; realm (with a's) makes a and b one domain
		a, b string
		// one: a's session opens b, so one login serves both
		one bool
	}{
		{"two protection domains on one store", "", "", false},
		{"one domain on two stores", "realm shared\n\t\tsecret " + domainTestSecret,
			"realm shared\n\t\tsecret " + domainTestSecret + "\n\t\tstore otp_test_nolist", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSites(t)
			iss := "revoke-" + s.tag
			block := func(name, extra string) string {
				return fmt.Sprintf("%s {\n\tphone_otp {\n\t\t%s\n\t\tissuer %s\n\t\t%s\n\t}\n\t%s\n}\n",
					s.site(name), s.sms(), iss, extra, s.proxy())
			}
			s.loadSites(t, block("a", tc.a)+block("b", tc.b))
			if got := admin(t, http.MethodGet, "/phone_otp/", "").body; !strings.Contains(got, fmt.Sprintf(`"issuer":%q,"handlers":2`, iss)) {
				t.Fatalf("the issuer does not run two handlers: %s", got)
			}
			toks := map[string]string{"a": login(t, s.dex, s.at(newBrowser(), "a"), phone)}
			toks["b"] = toks["a"]
			if !tc.one {
				toks["b"] = login(t, s.dex, s.at(newBrowser(), "b"), phone)
			}
			for _, site := range []string{"a", "b"} {
				s.wantSession(t, site, "/x", toks[site], phone)
			}

			admin(t, http.MethodPost, "/phone_otp/revoke", `{"phone":"`+phone+`","issuer":"`+iss+`"}`).
				wantJSON(t, 200, map[string]any{"status": "revoked"})
			for _, site := range []string{"a", "b"} {
				eventually(t, "site "+site+" refuses the revoked phone's session", func() bool {
					return s.at(newBrowser(), site).get(t, "/x", "Accept", "application/json", "Cookie", "otp_session="+toks[site]).StatusCode == 401
				})
			}
		})
	}
}

// steppedClocks are the clocks of otp_test_stepped stores, by the name
// their Caddyfile gives.
var steppedClocks sync.Map // name -> *fake.Clock

func init() {
	caddy.RegisterModule(steppedStore{})
}

// steppedStore is a memory store whose expiry follows a test's clock
// (`store otp_test_stepped <name>`), so a test can let its records
// expire without waiting.
type steppedStore struct {
	store.Store
	Clock string `json:"clock"`
}

func (steppedStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  store.Namespace + ".otp_test_stepped",
		New: func() caddy.Module { return new(steppedStore) },
	}
}

func (s *steppedStore) Provision(caddy.Context) error {
	clk, ok := steppedClocks.Load(s.Clock)
	if !ok {
		return fmt.Errorf("no stepped clock %q", s.Clock)
	}
	s.Store = memory.New(clk.(*fake.Clock).Now)
	return nil
}

func (s *steppedStore) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if !d.Args(&s.Clock) {
		return d.ArgErr()
	}
	return nil
}
