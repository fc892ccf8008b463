package bench

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"golang.org/x/crypto/bcrypt"
)

// BenchmarkCaddyServer is a whole Caddy server's handling of one request,
// in process: the same setups as bench/run.sh, loaded from a Caddyfile
// into a running Caddy, each sent the same GET through the server's own
// ServeHTTP (request preparation, routing, handlers, response), with no
// network. Each sub-benchmark's time over bare's is what the setup adds
// to every request.
func BenchmarkCaddyServer(b *testing.B) {
	hash, err := bcrypt.GenerateFromPassword([]byte("bench"), bcrypt.MinCost)
	if err != nil {
		b.Fatal(err)
	}
	sites := map[string]string{
		"bare":            `respond "ok"`,
		"noop_middleware": "header X-Noop 1\n\trespond \"ok\"",
		"phone_otp":       "phone_otp {\n\t\tsms bench_capture\n\t\torigin bench.example.com\n\t\tsecret " + secret + "\n\t}\n\trespond \"ok\"",
		"basic_auth":      "basic_auth {\n\t\tbench " + string(hash) + "\n\t}\n\trespond \"ok\"",
	}
	setups := []string{"bare", "noop_middleware", "phone_otp", "basic_auth"}
	// Free ports: all taken at once, so that no two are alike, then let go
	// for Caddy to listen on.
	ports := make([]int, len(setups))
	var held []net.Listener
	for i := range ports {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			b.Fatal(err)
		}
		held = append(held, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range held {
		l.Close()
	}
	caddyfile := fmt.Sprintf("{\n\tadmin off\n\tstorage file_system %s\n\tlog {\n\t\tlevel WARN\n\t}\n}\n", b.TempDir())
	for i, s := range setups {
		caddyfile += fmt.Sprintf("http://127.0.0.1:%d {\n\t%s\n}\n", ports[i], sites[s])
	}
	cfg, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		b.Fatalf("adapt: %v %v", err, warn)
	}
	if err := caddy.Load(cfg, true); err != nil {
		b.Fatal(err)
	}
	defer caddy.Stop() //nolint:errcheck
	app, err := caddy.ActiveContext().App("http")
	if err != nil {
		b.Fatal(err)
	}
	servers := map[string]*caddyhttp.Server{}
	for _, srv := range app.(*caddyhttp.App).Servers {
		for i, s := range setups {
			if strings.HasSuffix(srv.Listen[0], fmt.Sprint(":", ports[i])) {
				servers[s] = srv
			}
		}
	}

	// Log in once through phone_otp's own endpoints.
	do := func(srv *caddyhttp.Server, r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w
	}
	ck := loginWith(b, "+12015550199", func(path, body string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d%s", ports[2], path), strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		for _, c := range cookies {
			r.AddCookie(c)
		}
		return do(servers["phone_otp"], r)
	})
	session := ck.Name + "=" + ck.Value

	for i, s := range setups {
		b.Run(s, func(b *testing.B) {
			srv := servers[s]
			r := httptest.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", ports[i]), nil)
			cookie := []string{session}
			r.Header["Cookie"] = cookie
			if s == "basic_auth" {
				r.SetBasicAuth("bench", "bench")
			}
			if w := do(srv, r); w.Code != 200 || w.Body.String() != "ok" {
				b.Fatalf("%s answered %d %q", s, w.Code, w.Body)
			}
			d := &discard{}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				d.reset()
				// Caddy hands the handlers this very request, and
				// phone_otp keeps its cookie from the app: put it back.
				r.Header["Cookie"] = cookie
				srv.ServeHTTP(d, r)
				if d.code != http.StatusOK {
					b.Fatalf("%s answered %d", s, d.code)
				}
			}
		})
	}
}
