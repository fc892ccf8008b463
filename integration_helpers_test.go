package caddyotp_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddyotp/caddyotp"
	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// The integration tests run the real Caddy in this process (caddytest).
// There is one Caddy per process, so they must not run in parallel.
const prefix = "/_otp"

// ports are Caddy's admin, HTTP and HTTPS ports, picked free once per
// process rather than caddytest's fixed 2999 and the usual 9080, so that
// two test processes on one machine do not configure each other's Caddy.
var ports = sync.OnceValue(func() (p [3]int) {
	for i := range p {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close() // held until all are picked, so they differ
		p[i] = l.Addr().(*net.TCPAddr).Port
	}
	return p
})

// testerConfig is caddytest's config for this process: its admin port,
// and room for a config load on a busy machine (the race detector, a
// parallel package's tests): caddytest's 5 s made loads fail that were
// only slow.
func testerConfig() caddytest.Config {
	return caddytest.Config{AdminPort: ports()[0], LoadRequestTimeout: 30 * time.Second}
}

func siteURL() string { return fmt.Sprintf("http://localhost:%d", ports()[1]) }

// opts are the parts of the Caddyfile a test changes.
type opts struct {
	global string // lines in the global options
	otp    string // lines inside phone_otp { }
	dex    string // lines inside sms dexatel { }
	sms    string // a whole `sms <provider> {…}` in place of the fake Dexatel's
	site   string // lines in the site block, before phone_otp
	more   string // whole site blocks after the test's site
}

// env is one running Caddy with a fake Dexatel and an upstream app that
// echoes what it receives.
type env struct {
	tc      *caddytest.Tester
	dex     *fakegw.Dexatel
	app     *httptest.Server
	storage string
	issuer  string
}

func newEnv(t *testing.T, o opts) *env {
	t.Helper()
	storage, err := os.MkdirTemp("", "phone_otp-it-")
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: should Caddy touch its storage as the test ends, a
	// failed RemoveAll must not fail the test (storage cleaning, which
	// would, is off).
	t.Cleanup(func() { os.RemoveAll(storage) })
	e := &env{
		tc:      caddytest.NewTester(t).WithDefaultOverrides(testerConfig()),
		dex:     fakegw.NewDexatel(t),
		app:     newEchoApp(t),
		storage: storage,
		// Every phone_otp in the process shares one memory store; a
		// per-test issuer keeps each test's limits and blocks apart.
		issuer: fmt.Sprintf("it-%s-%d", regexp.MustCompile(`\W+`).ReplaceAllString(t.Name(), "-"), rand.Uint32()),
	}
	e.load(t, o)
	return e
}

// load (re)configures the running Caddy, as `caddy reload` would.
func (e *env) load(t *testing.T, o opts) {
	t.Helper()
	sms := o.sms
	if sms == "" {
		sms = dexatelBlock(e.dex.URL(), o.dex)
	}
	loadCaddyfile(t, e.tc, e.storage, o.global, fmt.Sprintf(`%s {
	%s
	phone_otp {
		%s
		issuer %s
		%s
	}
	reverse_proxy %s {
		header_up X-Auth-User-Id {http.auth.user.id}
		header_up X-Auth-User-Phone {http.auth.user.phone}
	}
}
%s`, siteURL(), o.site, sms, e.issuer, o.otp, e.app.Listener.Addr(), o.more))
}

// loadCaddyfile (re)configures the running Caddy, as `caddy reload` would:
// the test process's ports, storage in its own folder with no cleaning,
// global lines of the test's own, then sites. It returns once the site
// answers.
func loadCaddyfile(t *testing.T, tc *caddytest.Tester, storage, global, sites string) {
	t.Helper()
	tc.InitServer(fmt.Sprintf(`{
	admin localhost:%d
	http_port %d
	https_port %d
	skip_install_trust
	persist_config off
	storage file_system %s
	storage_check off
	storage_clean_interval off
	%s
}
`, ports()[0], ports()[1], ports()[2], storage, global)+sites, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	waitServing(t)
}

// waitServing returns once the site answers on a fresh connection. While
// Caddy hands its listener from the old config's server to the new one, a
// connection can be reset; a test must not mistake that for the plugin.
func waitServing(t *testing.T) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	for i := 0; ; i++ {
		resp, err := c.Get(siteURL() + prefix + "/session")
		if err == nil {
			resp.Body.Close()
			if i == 0 {
				// Once more, past the old server's shutdown.
				continue
			}
			return
		}
		if i == 50 {
			t.Fatalf("site not serving after reload: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// echoApp is the upstream: it answers with what it received.
type echoed struct {
	URI     string              `json:"uri"`
	Headers map[string][]string `json:"headers"`
}

func newEchoApp(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoed{URI: r.RequestURI, Headers: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// echo is the upstream app's answer to r.
func (r *response) echo(t *testing.T) echoed {
	t.Helper()
	r.wantStatus(t, 200)
	var e echoed
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Headers == nil {
		t.Fatalf("not the upstream app's answer: %v: %.300s", err, r.body)
	}
	return e
}

// dexatelBlock is the fake Dexatel at url as an `sms` block, with lines
// of the test's own inside.
func dexatelBlock(url, lines string) string {
	if lines != "" {
		lines = "\n\t\t\t" + lines
	}
	return fmt.Sprintf("sms dexatel {\n\t\t\tapi_key %s\n\t\t\tsender %s\n\t\t\ttemplate %s\n\t\t\tendpoint %s%s\n\t\t}",
		fakegw.DexatelKey, fakegw.DexatelSender, fakegw.DexatelTemplate, url, lines)
}

// Provider blocks pointing at the fake gateways, with a short timeout so
// a hanging gateway fails fast.
func twilioBlock(url string) string {
	return fmt.Sprintf(`sms twilio {
			account_sid %s
			auth_token  %s
			from        +12015550100
			endpoint    %s
			timeout     300ms
		}`, fakegw.TwilioAccount, fakegw.TwilioToken, url)
}

func twilioVerifyBlock(url string) string {
	return fmt.Sprintf(`sms twilio_verify {
			account_sid %s
			auth_token  %s
			service_sid %s
			endpoint    %s
			timeout     300ms
		}`, fakegw.TwilioAccount, fakegw.TwilioToken, fakegw.TwilioService, url)
}

func vonageBlock(url string) string {
	return fmt.Sprintf(`sms vonage {
			api_key    %s
			api_secret %s
			from       TestBrand
			endpoint   %s
			timeout    300ms
		}`, fakegw.VonageKey, fakegw.VonageSecret, url)
}

func webhookBlock(url string) string {
	return fmt.Sprintf(`sms webhook {
			url     %s/hook
			header  Authorization "%s"
			body    `+"`"+`{"to":"{phone}","text":"{message}"}`+"`"+`
			success 202
			timeout 300ms
		}`, url, fakegw.HookBearer)
}

// slowBlock is the webhook provider for the Slow gateway g, with the
// plugin's timeout, or its default when timeout is "".
func slowBlock(g *fakegw.Slow, timeout string) string {
	if timeout != "" {
		timeout = "\n\t\t\ttimeout " + timeout
	}
	return fmt.Sprintf("sms webhook {\n\t\t\turl %s%s%s\n\t\t}", g.URL(), fakegw.SlowPath, timeout)
}
