package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddyotp/caddyotp"
	"github.com/caddyotp/caddyotp/sms"
)

func init() {
	caddy.RegisterModule(capture{})
}

// capture is an SMS provider guest module, registered the way a third
// party would, that keeps the last code per phone instead of sending it.
type capture struct{}

var captured sync.Map // phone -> code

func (capture) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: sms.Namespace + ".bench_capture", New: func() caddy.Module { return new(capture) }}
}

// UnmarshalCaddyfile takes `sms bench_capture`, with no options.
func (*capture) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	return nil
}

func (capture) Send(_ context.Context, m sms.Message) (sms.Result, error) {
	captured.Store(m.Phone, m.Code)
	return sms.Result{ID: "bench"}, nil
}

const secret = "bench-secret-0123456789abcdef0123456789"

// newHandler provisions a phone_otp handler from JSON config, as Caddy would.
func newHandler(tb testing.TB, config string) (*caddyotp.Handler, func()) {
	tb.Helper()
	h := new(caddyotp.Handler)
	if err := json.Unmarshal([]byte(config), h); err != nil {
		tb.Fatal(err)
	}
	h.SiteHosts = []string{"example.com"} // httptest's Host, as the Caddyfile would set it
	ctx, cancel := caddy.NewContext(caddy.ActiveContext())
	if err := h.Provision(ctx); err != nil {
		cancel()
		tb.Fatal(err)
	}
	return h, cancel
}

// request makes r look like it came through Caddy's server: a replacer
// and the client IP var in its context.
func request(method, target, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.RemoteAddr = "192.0.2.10:50000"
	return caddyhttp.PrepareRequest(r, caddy.NewReplacer(), nil, nil)
}

var okNext = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return nil })

// login runs send and verify through h and returns the session cookie;
// with user, as that user authenticated by a first factor.
func login(tb testing.TB, h *caddyotp.Handler, phone string, user ...string) *http.Cookie {
	tb.Helper()
	return loginWith(tb, phone, func(path, body string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := request("POST", path, body)
		r.Header.Set("Content-Type", "application/json")
		for _, c := range cookies {
			r.AddCookie(c)
		}
		asUser(r, user...)
		if err := h.ServeHTTP(w, r, okNext); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		return w
	})
}

// loginWith runs send and verify through post, which sends a JSON body
// with cookies to a phone_otp path, and returns the session cookie.
func loginWith(tb testing.TB, phone string, post func(path, body string, cookies []*http.Cookie) *httptest.ResponseRecorder) *http.Cookie {
	tb.Helper()
	w := post("/_otp/send", `{"phone":"`+phone+`"}`, nil)
	if w.Code != 200 {
		tb.Fatalf("send: %d %s", w.Code, w.Body)
	}
	code, _ := captured.Load(phone)
	w = post("/_otp/verify", `{"code":"`+code.(string)+`"}`, w.Result().Cookies())
	if w.Code != 200 {
		tb.Fatalf("verify: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "otp_session" {
			return c
		}
	}
	tb.Fatal("no session cookie")
	return nil
}

// asUser sets the first factor's user, as basic_auth would.
func asUser(r *http.Request, user ...string) {
	if len(user) > 0 {
		r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer).Set("http.auth.user.id", user[0])
	}
}

// discard is a ResponseWriter that keeps nothing, so benchmarks measure
// the handler rather than a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }
func (d *discard) reset()                      { clear(d.h); d.code = 0 }

type caddyhttpHandler = caddyhttp.Handler
type caddyhttpHandlerFunc = caddyhttp.HandlerFunc

// TestMain quiets Caddy's default logger: the benchmarks measure the
// handler, not the terminal.
func TestMain(m *testing.M) {
	cfg := `{"admin":{"disabled":true},"logging":{"logs":{"default":{"level":"ERROR"}}}}`
	if err := caddy.Load([]byte(cfg), true); err != nil {
		panic(err)
	}
	code := m.Run()
	caddy.Stop()
	os.Exit(code)
}
