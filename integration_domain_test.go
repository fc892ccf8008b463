package caddyotp_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/golang-jwt/jwt/v5"
)

// Protection domains: each phone_otp handler accepts only its own sessions,
// challenges, devices and CSRF tokens, and counts its own limits, unless
// handlers name one realm.

// domainTestSecret is the `secret` of the sites that set one, so a test can
// sign tokens as the site would.
const domainTestSecret = "domain-test-secret-0123456789abcdef"

// sites is one Caddy serving the sites a test writes, with the fake Dexatel
// and the echo app of newEnv.
type sites struct {
	*env
	tag string // makes this test's host names, so no other test shares its store keys
}

func newSites(t *testing.T) *sites {
	t.Helper()
	storage, err := os.MkdirTemp("", "phone_otp-it-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(storage) })
	return &sites{
		env: &env{
			tc:      caddytest.NewTester(t).WithDefaultOverrides(testerConfig()),
			dex:     fakegw.NewDexatel(t),
			app:     newEchoApp(t),
			storage: storage,
		},
		tag: fmt.Sprintf("%x", rand.Uint32()),
	}
}

// host is the test's name for site s ("a", "b", …).
func (s *sites) host(name string) string { return name + "-" + s.tag + ".localhost" }

// site is a site block's address.
func (s *sites) site(name string) string {
	return fmt.Sprintf("http://%s:%d", s.host(name), ports()[1])
}

// sms is the fake Dexatel's `sms` block.
func (s *sites) sms() string {
	return dexatelBlock(s.dex.URL(), "")
}

// proxy is the site's upstream, the echo app.
func (s *sites) proxy() string { return "reverse_proxy " + s.app.Listener.Addr().String() }

// loadSites (re)configures the running Caddy with these site blocks.
func (s *sites) loadSites(t *testing.T, blocks string) {
	t.Helper()
	loadCaddyfile(t, s.tc, s.storage, "", blocks)
}

func (s *sites) at(b *browser, name string) *at { return b.on(s.site(name)) }

// wantSession checks that site passes a request with the session cookie
// tok upstream with phone as the verified phone.
func (s *sites) wantSession(t *testing.T, site, path, tok, phone string) {
	t.Helper()
	e := s.at(newBrowser(), site).get(t, path, "Cookie", "otp_session="+tok).echo(t)
	if got := e.Headers["X-Verified-Phone"]; len(got) != 1 || got[0] != phone {
		t.Errorf("site %s: X-Verified-Phone %q, want %s", site, got, phone)
	}
}

// wantNoSession checks that site does not pass a request with the session
// cookie tok upstream: a JSON client is told to log in at login.
func (s *sites) wantNoSession(t *testing.T, site, path, tok, login string) {
	t.Helper()
	r := s.at(newBrowser(), site).get(t, path, "Accept", "application/json", "Cookie", "otp_session="+tok)
	if r.StatusCode == 200 {
		t.Fatalf("site %s: GET %s was passed upstream with a session it must refuse: %.300s", site, path, r.body)
	}
	r.wantJSON(t, 401, map[string]any{"error": "otp_required", "login": login})
}

// TestIntegrationDomainTwoSites: two sites with the same default options
// (no secret, no issuer), one open to anyone and one allowing a single
// phone. A session, a challenge and a CSRF token of the open site are
// worth nothing on the other.
func TestIntegrationDomainTwoSites(t *testing.T) {
	s := newSites(t)
	config := func(moreA string) string {
		return fmt.Sprintf(`
%s {
	phone_otp {
		%s
		%s
	}
	%s
}
%s {
	phone_otp {
		%s
		allow +12015550199
	}
	%s
}`, s.site("a"), s.sms(), moreA, s.proxy(), s.site("b"), s.sms(), s.proxy())
	}
	s.loadSites(t, config(""))
	const phone = "+12015550123"
	a := s.at(newBrowser(), "a")
	tok := login(t, s.dex, a, phone)

	t.Run("the session opens its own site", func(t *testing.T) {
		s.wantSession(t, "a", "/x", tok, phone)
	})
	t.Run("the session does not open the other site", func(t *testing.T) {
		s.wantNoSession(t, "b", "/x", tok, prefix+"/")
	})
	t.Run("a reload that changes limits and rules keeps the domain", func(t *testing.T) {
		s.loadSites(t, config("limit_ip 50\n\t\tmax_attempts 5\n\t\tcountries US"))
		s.wantSession(t, "a", "/x", tok, phone)
		s.wantNoSession(t, "b", "/x", tok, prefix+"/")
	})
	t.Run("a challenge does not verify on the other site", func(t *testing.T) {
		a.postJSON(t, prefix+"/send", `{"phone":"+12015550124"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		ch := a.cookie(t, "otp_session_challenge", prefix+"/verify")
		r := s.at(newBrowser(), "b").postJSON(t, prefix+"/verify", `{"code":"`+s.dex.ReadCode(t, "+12015550124")+`"}`,
			"Cookie", "otp_session_challenge="+ch)
		r.wantJSON(t, 400, map[string]any{"error": "invalid_request"})
		if ck := r.setCookie("otp_session"); ck != nil {
			t.Errorf("the other site's challenge got a session: %v", ck)
		}
	})
	t.Run("a CSRF token does not pass on the other site", func(t *testing.T) {
		pa := s.at(newBrowser(), "a")
		r := pa.get(t, prefix+"/", "Accept", "text/html")
		r.wantStatus(t, 200)
		token := r.field(t, csrfRE)
		nonce := pa.cookie(t, "otp_session_csrf", prefix+"/")
		s.at(newBrowser(), "b").postForm(t, prefix+"/send", url.Values{"csrf": {token}, "phone": {"+12015550199"}},
			"Cookie", "otp_session_csrf="+nonce).wantStatus(t, 403)
	})
}

// TestIntegrationDomainOneHostTwoMatchers: on one host, phone_otp @app for
// /app (open) and phone_otp @admin for /admin (one phone): the /app
// session does not open /admin.
func TestIntegrationDomainOneHostTwoMatchers(t *testing.T) {
	s := newSites(t)
	s.loadSites(t, fmt.Sprintf(`
%s {
	@app path /app* /_otp/*
	@admin path /admin* /_otpa/*
	phone_otp @app {
		%s
	}
	phone_otp @admin {
		%s
		prefix /_otpa
		allow +12015550199
	}
	%s
}`, s.site("a"), s.sms(), s.sms(), s.proxy()))
	const phone = "+12015550123"
	a := s.at(newBrowser(), "a")
	tok := login(t, s.dex, a, phone)
	s.wantSession(t, "a", "/app/x", tok, phone)
	s.wantNoSession(t, "a", "/admin/x", tok, "/_otpa/")
}

// TestIntegrationDomainSubject: a token signed with the site's own secret,
// with every claim of a real session but a sub that is no E.164 phone, is
// no session, and its sub never reaches the app.
func TestIntegrationDomainSubject(t *testing.T) {
	s := newSites(t)
	s.loadSites(t, fmt.Sprintf(`
%s {
	phone_otp {
		%s
		secret %s
	}
	%s
}`, s.site("a"), s.sms(), domainTestSecret, s.proxy()))
	a := s.at(newBrowser(), "a")
	real := login(t, s.dex, a, "+12015550123")
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(real, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"alice<script>", "12015550123", "+1 201 555 0123", "+12015550123\n", "+1201555012", ""} {
		t.Run(fmt.Sprintf("%q", sub), func(t *testing.T) {
			var claims jwt.MapClaims
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			claims["sub"] = sub
			claims["jti"] = fmt.Sprintf("forged-%x", rand.Uint64())
			forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(domainTestSecret))
			if err != nil {
				t.Fatal(err)
			}
			s.wantNoSession(t, "a", "/x", forged, prefix+"/")
		})
	}
	t.Run("control: the same claims with a phone pass", func(t *testing.T) {
		var claims jwt.MapClaims
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatal(err)
		}
		claims["sub"] = "+12015550124"
		ok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(domainTestSecret))
		if err != nil {
			t.Fatal(err)
		}
		s.wantSession(t, "a", "/x", ok, "+12015550124")
	})
}

// TestIntegrationDomainLimits: sends on one site spend only that site's
// limits; a strict site's memo of a refused IP and a phone blocked on one
// site hold on that site alone.
func TestIntegrationDomainLimits(t *testing.T) {
	s := newSites(t)
	s.loadSites(t, fmt.Sprintf(`
%s {
	phone_otp {
		%s
		limit_ip 1000
	}
	%s
}
%s {
	phone_otp {
		%s
		limit_ip 3
	}
	%s
}`, s.site("one"), s.sms(), s.proxy(), s.site("three"), s.sms(), s.proxy()))
	one, three := s.at(newBrowser(), "one"), s.at(newBrowser(), "three")
	send := func(site *at, phone string) *response {
		return site.postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`)
	}
	phone := func(i int) string { return fmt.Sprintf("+1201555%04d", 100+i) }

	t.Run("a phone blocked on site one still gets a code on site three", func(t *testing.T) {
		p := phone(40)
		b := s.at(newBrowser(), "one")
		send(b, p).wantJSON(t, 200, map[string]any{"status": "sent"})
		code := s.dex.ReadCode(t, p)
		for range 3 {
			b.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`)
		}
		send(b, p).wantJSON(t, 429, map[string]any{"error": "blocked"})
		c := s.at(newBrowser(), "three")
		send(c, p).wantJSON(t, 200, map[string]any{"status": "sent"})
	})
	t.Run("ten sends on site one leave site three's limit_ip alone", func(t *testing.T) {
		for i := range 10 {
			send(one, phone(i)).wantJSON(t, 200, map[string]any{"status": "sent"})
		}
		// One of site three's three went to the blocked phone above.
		for i := range 2 {
			send(three, phone(20+i)).wantJSON(t, 200, map[string]any{"status": "sent"})
		}
	})
	t.Run("site three's refusal is not remembered on site one", func(t *testing.T) {
		send(three, phone(23)).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
		send(three, phone(24)).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
		send(one, phone(25)).wantJSON(t, 200, map[string]any{"status": "sent"})
	})
}

// TestIntegrationDomainRealm: two sites that name one realm, with one
// secret, share a sign-in and their blocks; a third site without it does not.
func TestIntegrationDomainRealm(t *testing.T) {
	s := newSites(t)
	realm := "shared-" + s.tag
	block := func(name, more string) string {
		return fmt.Sprintf("%s {\n\tphone_otp {\n\t\t%s\n\t\tsecret %s\n\t\t%s\n\t}\n\t%s\n}\n",
			s.site(name), s.sms(), domainTestSecret, more, s.proxy())
	}
	s.loadSites(t, block("a", "realm "+realm)+block("b", "realm "+realm)+block("c", ""))
	const phone = "+12015550123"
	tok := login(t, s.dex, s.at(newBrowser(), "a"), phone)

	t.Run("one sign-in serves both sites of the realm", func(t *testing.T) {
		s.wantSession(t, "a", "/x", tok, phone)
		s.wantSession(t, "b", "/x", tok, phone)
	})
	t.Run("a site outside the realm refuses it, even with the same secret", func(t *testing.T) {
		s.wantNoSession(t, "c", "/x", tok, prefix+"/")
	})
	t.Run("a block on one site of the realm holds on the other", func(t *testing.T) {
		const p = "+12015550140"
		a := s.at(newBrowser(), "a")
		a.postJSON(t, prefix+"/send", `{"phone":"`+p+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		code := s.dex.ReadCode(t, p)
		for range 3 {
			a.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`)
		}
		s.at(newBrowser(), "b").postJSON(t, prefix+"/send", `{"phone":"`+p+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})
	})
}
