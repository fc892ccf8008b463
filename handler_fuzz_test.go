package caddyotp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"

	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/store/memory"
)

// The fuzz targets of the handler as a whole: any request to its own
// endpoints (the JSON and form bodies, the cookies), a proxy's question
// to {prefix}/auth with any forwarded headers, and the Caddyfile
// directive. No input makes a 5xx or a panic, and a refusal is a 4xx that
// says what was wrong, in kind.

// fuzzCfg is pageCfg with limits no fuzz run reaches, so that every
// request is read to its end rather than refused for its rate.
const fuzzCfg = `{"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"secret":"` + longSecret +
	`","limit_ip":1000000000,"limit_global":1000000000,"limit_phone":1000000000}`

// fuzzHandler is newPageHandler for a fuzz target: the handler lives as
// long as f. Its memory store is replaced every fuzzRenew requests
// (renew), so that the codes a long run sends do not pile up.
type fuzzHandler struct {
	*Handler
	clock *clock
	n     int
}

const fuzzRenew = 2000

func newFuzzHandler(f *testing.F) *fuzzHandler {
	f.Helper()
	h := new(Handler)
	if err := json.Unmarshal([]byte(fuzzCfg), h); err != nil {
		f.Fatal(err)
	}
	c := newClock()
	h.now = c.Now
	h.SiteHosts = []string{"example.com", "app.example"}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	f.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = h.Cleanup() })
	// Millions of requests: the audit lines would drown the run's output.
	h.audit.log = zap.NewNop()
	h.logger = zap.NewNop()
	fh := &fuzzHandler{Handler: h, clock: c}
	fh.renew()
	return fh
}

// renew gives h a fresh memory store and the sessions over it.
func (fh *fuzzHandler) renew() {
	h := fh.Handler
	h.store = memory.New(fh.clock.Now)
	h.flow.Store, h.flow.Sender = h.store, &fakeSMS{}
	h.sessions = session.New(h.keys.Session, h.Issuer, time.Duration(h.SessionTTL), h.store, "t", h.now)
}

// serve runs r through h, as Caddy would: with the request's vars (the
// client IP, and whether it came from a trusted proxy) and a replacer.
// Nothing may reach the next handler without a session.
func (fh *fuzzHandler) serve(t *testing.T, r *http.Request, trusted bool) *httptest.ResponseRecorder {
	t.Helper()
	if fh.n++; fh.n%fuzzRenew == 0 {
		fh.renew()
	}
	repl := caddy.NewReplacer()
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{
		caddyhttp.TrustedProxyVarKey: trusted, caddyhttp.ClientIPVarKey: "192.0.2.1",
	})
	r = r.WithContext(ctx)
	w := httptest.NewRecorder()
	passed := false
	err := fh.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, up *http.Request) error {
		passed = true
		if p := up.Header.Get(fh.Header); phone.LooksE164(p) == false {
			t.Fatalf("upstream got %s %q", fh.Header, p)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	if err != nil {
		t.Fatalf("%s %s: ServeHTTP: %v", r.Method, r.URL, err)
	}
	if w.Code >= 500 {
		t.Fatalf("%s %s %q: %d %s", r.Method, r.URL, r.Header, w.Code, w.Body)
	}
	if passed && w.Code != http.StatusNoContent {
		t.Fatalf("%s %s: passed upstream, then %d", r.Method, r.URL, w.Code)
	}
	if loc := w.Header().Get("Location"); loc != "" && !httpguts.ValidHeaderFieldValue(loc) {
		t.Fatalf("Location %q", loc)
	}
	return w
}

// endpoints are the paths the fuzz target asks, by number.
var endpoints = []string{"/_otp/", "/_otp/send", "/_otp/verify", "/_otp/resend", "/_otp/session", "/_otp/logout", "/_otp/auth", "/app", "/_otp/nope"}

// contentTypes are the request types the fuzz target sends, by number.
var contentTypes = []string{"application/json", "application/x-www-form-urlencoded", "application/json; charset=utf-8", "", "text/plain", "application/x-www-form-urlencoded; charset=\"", "multipart/form-data"}

// FuzzEndpoints: any body, of any type, to any of the handler's
// endpoints, with any cookies and query. Never a 5xx nor a panic, nothing
// upstream without a session; a JSON request's refusal is JSON with an
// "error" (as the outcome table says); and a redirect stays on the site.
func FuzzEndpoints(f *testing.F) {
	fh := newFuzzHandler(f)
	tok, _, err := fh.sessions.Issue("+12015550123", "", "")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		ep, ct       uint8
		post         bool
		body, cookie string
	}{
		{1, 0, true, `{"phone":"+12015550123"}`, ""},
		{1, 0, true, `{"phone":"(201) 555-0123","country":"US","return":"/app?x=1"}`, ""},
		{1, 0, true, `{"phone":"2015550123","country":"us"}`, ""},
		{1, 1, true, "phone=%2B12015550123&csrf=x&return=%2F%2Fevil.example", "otp_session_csrf=n"},
		{2, 0, true, `{"code":"123456","remember":true}`, ""},
		{2, 0, true, `{"code":"123 456"}`, "otp_session_challenge=eyJhbGciOiJIUzI1NiJ9.e30.x"},
		{3, 0, true, `{"channel":"call"}`, ""},
		{4, 3, false, "", "otp_session=" + tok},
		{5, 0, true, `{"forget":true}`, "otp_session=" + tok},
		{6, 3, false, "", "otp_session=" + tok},
		{7, 3, false, "", "otp_session=" + tok},
		{7, 3, false, "", `otp_session="` + tok + `"`},
		{0, 3, false, "", ""},
		{1, 0, true, `{"phone":"+1"}{"phone":"+2"}`, ""},
		{1, 0, true, strings.Repeat("x", 9000), ""},
		{1, 4, true, "phone=+12015550123", ""},
		{8, 0, true, "{}", ""},
	} {
		f.Add(s.ep, s.ct, s.post, []byte(s.body), s.cookie, "return=/app")
	}
	f.Fuzz(func(t *testing.T, ep, ct uint8, post bool, body []byte, cookie, query string) {
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		target := "http://example.com" + endpoints[int(ep)%len(endpoints)]
		r := httptest.NewRequest(method, target, strings.NewReader(string(body)))
		r.URL.RawQuery = query
		ctype := contentTypes[int(ct)%len(contentTypes)]
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if cookie != "" {
			if !httpguts.ValidHeaderFieldValue(cookie) {
				return // no server hands such a header on
			}
			r.Header.Set("Cookie", cookie)
		}
		w := fh.serve(t, r, false)
		if w.Code >= 400 && strings.HasPrefix(ctype, "application/json") && post && strings.HasPrefix(r.URL.Path, "/_otp/") && r.URL.Path != "/_otp/auth" {
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s %q: %d with body %q", method, r.URL, body, w.Code, w.Body)
			}
		}
		if loc := w.Header().Get("Location"); loc != "" {
			checkOnSite(t, loc, "example.com")
		}
	})
}

// checkOnSite holds that a Location is a path on the site, or an URL on
// host, and that its return, if any, is a same-site path.
func checkOnSite(t *testing.T, loc, host string) {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	if u.Host != "" && !strings.EqualFold(u.Host, host) || u.User != nil || (u.Host == "" && !strings.HasPrefix(loc, "/")) || strings.HasPrefix(loc, "//") {
		t.Fatalf("Location %q leaves %s", loc, host)
	}
	if ret, ok := u.Query()["return"]; ok {
		checkSamePath(t, loc, ret[0])
	}
}

// FuzzForwardAuth: a proxy's question to {prefix}/auth, from a trusted
// proxy or not, with any X-Forwarded-Host, -Uri, -Proto, X-Original-URI,
// rd and redirect header, and any session cookie. The answer is 200 (a
// session: the header is its E.164 phone), 302 or 401; the login page is
// on the request's host or, from a trusted proxy only, on a forwarded
// host that is a host name; and its return is a same-site path.
func FuzzForwardAuth(f *testing.F) {
	fh := newFuzzHandler(f)
	tok, _, err := fh.sessions.Issue("+12015550123", "", "")
	if err != nil {
		f.Fatal(err)
	}
	deep := "/app/deep?x=1"
	for _, c := range []struct {
		trusted                       bool
		query, xfh, xfu, xou, xfp, rh string
	}{
		{true, "", "", deep, "", "", ""}, {true, "", "", "", deep, "", ""}, {false, "", "", deep, "", "", ""},
		{true, "", "", "//evil.com", "", "", ""}, {true, "", "", "https://evil.com", "", "", ""},
		{true, "", "", `/\evil.com`, "", "", ""}, {true, "rd=" + url.QueryEscape(deep), "", "", "", "", ""},
		{true, "rd=%2F%2Fevil.com", "", "", "", "", ""}, {false, "rd=" + url.QueryEscape("http://app.example@evil.com/"), "", "", "", "", ""},
		{true, "rd=" + url.QueryEscape("https://app.example:8443"+deep), "app.example:8443", "", "", "https", ""},
		{true, "", "app.example", deep, "", "https", ""}, {false, "", "evil.com", "", "", "https", ""},
		{true, "", "evil.com/x?", deep, "", "", ""}, {true, "", "evil.com, app.example", "", "", "", ""},
		{true, "rd", "", deep, "", "", ""}, {true, "", "", deep, "", "", "1"}, {true, "", "[::1]:80", "", "", "http, https", "1"},
	} {
		f.Add(c.trusted, c.query, c.xfh, c.xfu, c.xou, c.xfp, c.rh, "")
	}
	f.Add(false, "", "", "", "", "", "", "otp_session="+tok)
	f.Fuzz(func(t *testing.T, trusted bool, query, xfh, xfu, xou, xfp, rh, cookie string) {
		r := httptest.NewRequest(http.MethodGet, "http://app.example/_otp/auth", nil)
		r.URL.RawQuery = query
		for k, v := range map[string]string{"X-Forwarded-Host": xfh, "X-Forwarded-Uri": xfu, "X-Original-Uri": xou,
			"X-Forwarded-Proto": xfp, redirectHeader: rh, "Cookie": cookie} {
			if v == "" {
				continue
			}
			if !httpguts.ValidHeaderFieldValue(v) {
				return // no server hands such a header on
			}
			r.Header.Set(k, v)
		}
		w := fh.serve(t, r, trusted)
		switch w.Code {
		case http.StatusOK:
			if p := w.Header().Get(fh.Header); !phone.LooksE164(p) {
				t.Fatalf("200 with %s %q", fh.Header, p)
			}
			return
		case http.StatusFound, http.StatusUnauthorized:
		default:
			t.Fatalf("auth answered %d", w.Code)
		}
		loc := w.Header().Get("Location")
		u, err := url.Parse(loc)
		if err != nil || u.Path != "/_otp/" {
			t.Fatalf("Location %q: %v", loc, err)
		}
		host := "app.example"
		if u.Host != "" {
			if !trusted || !validHostPort(u.Host) || u.Host != lastForwarded(r.Header, "X-Forwarded-Host") {
				t.Fatalf("Location %q on a host no trusted proxy named (X-Forwarded-Host %q, trusted %v)", loc, xfh, trusted)
			}
			host = u.Host
		}
		checkOnSite(t, loc, host)
	})
}

// FuzzCaddyfile: the phone_otp directive's block. Either a parse error
// that names the Caddyfile's line, or a config that, with the defaults
// set and its placeholders resolved to good values, validates as
// Provision would validate it.
func FuzzCaddyfile(f *testing.F) {
	for _, body := range []string{
		"sms log\nstore memory\nprefix /login\ncode_length 8\ncode_ttl 2m\nmax_attempts 5\nblock_for 1h\nresend_after 45s\n" +
			"limit_phone 7\nlimit_ip 30\nlimit_global 500\nsession_ttl 24h\nsecret {env.OTP_SECRET}\nissuer example-otp\n" +
			"cookie_name sid\ncookie_domain example.com\nrealm example\nheader X-Phone\nallow +12015550123 +4915123456789\n" +
			"allow +447400123456\nallow_file /etc/caddy/phones.txt\ncountries US DE GB\nmessage \"{code} is your {host} code.\"\n" +
			"template_dir /etc/caddy/otp-pages\nlang de en\ncall log\nlogo /etc/caddy/logo.png",
		"sms dexatel {\n\tapi_key {env.DEXATEL_API_KEY}\n\tsender MyBrand\n\ttemplate tpl-1\n\tcheck remote\n\ttimeout 5s\n}",
		"sms log\ncode_length 99", "code_ttl 1h", "secret tooshort", "countries us", "allow 12345",
		"message \"Welcome to {host}\"", "sms log\nfrobnicate yes", "code_ttl 5m\ncode_ttl 6m", "prefix /otp/",
		"store redis {\n\taddress localhost\n}", "cookie_secure yes", "realm \"a:b\"", "idle_timeout 30m\nbind_ip",
		"remember_device 720h\nusers_file /etc/caddy/users.txt", "remember_device 720h", "origin example.com",
		"origin \"http://example.com\"", "limit_prefix 10", "withhold_types premium_rate", "user_placeholder {http.auth.user.id}",
		"cookie_domain \".example.com\"", "header \"X Phone\"", "idle_timeout 1m", "message \"{code}\"",
	} {
		f.Add("phone_otp {\n" + body + "\n}")
	}
	f.Fuzz(func(t *testing.T, input string) {
		if d := caddyfile.NewTestDispenser(input); !d.Next() || d.Val() != "phone_otp" {
			return // Caddy hands the directive only its own tokens
		}
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
			if !strings.Contains(err.Error(), "Testfile:") {
				t.Fatalf("error %q names no line", err)
			}
			return
		}
		// Placeholders resolve at Provision: here to values that pass.
		for _, p := range []*string{&h.Secret, &h.CookieSecure, &h.Realm, &h.Origin} {
			if hasPlaceholder(*p) {
				*p = map[*string]string{&h.Secret: longSecret, &h.CookieSecure: "auto", &h.Realm: "r", &h.Origin: "example.com"}[p]
			}
		}
		for i, a := range h.Allow {
			if hasPlaceholder(a) {
				h.Allow[i] = "+12015550123"
			}
		}
		h.setDefaults()
		if err := h.validate(); err != nil {
			t.Fatalf("parsed %q, but it does not validate: %v", input, err)
		}
	})
}

// TestValidHostPortBrackets: what FuzzForwardAuth found, "[" taken for a
// host, and its kin: brackets only around an IPv6 literal, a port only of
// digits.
func TestValidHostPortBrackets(t *testing.T) {
	for s, want := range map[string]bool{
		"[::1]": true, "[::1]:443": true, "[2001:db8::1]:8443": true, "app.example:8443": true,
		"[": false, "a]": false, "[a]": false, "[127.0.0.1]": false, "[::1": false, "::1]": false,
		"a:b:c": false, "a:8x": false, "[::1]x": false,
	} {
		if got := validHostPort(s); got != want {
			t.Errorf("validHostPort(%q) = %v, want %v", s, got, want)
		}
	}
}
