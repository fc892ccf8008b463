package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

const baseConfig = `{"sms":{"provider":"bench_capture"},"secret":"` + secret + `"}`

// BenchmarkSessionCheck is the authenticated path: cookie → verified
// claims → header and placeholders set → next handler.
func BenchmarkSessionCheck(b *testing.B) {
	h, done := newHandler(b, baseConfig)
	defer done()
	ck := login(b, h, "+12015550123")
	r := request("GET", "/app/page", "")
	r.AddCookie(ck)
	r.Header.Set("Accept", "text/html")
	w := &discard{}
	var passed bool
	next := okNextFunc(&passed)
	cookie := []string{ck.Name + "=" + ck.Value}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		passed = false
		// The handler strips its own cookie before the app; put it back.
		r.Header["Cookie"] = cookie
		if err := h.ServeHTTP(w, r, next); err != nil || !passed {
			b.Fatal("session not accepted")
		}
	}
}

// BenchmarkSessionCheckSecondFactor is the authenticated path with every
// per-request session rule on: users_file (the session's usr against the
// first factor's user), bind_ip and idle_timeout.
func BenchmarkSessionCheckSecondFactor(b *testing.B) {
	users := b.TempDir() + "/users.txt"
	if err := os.WriteFile(users, []byte("alice +12015550123\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	h, done := newHandler(b, `{"sms":{"provider":"bench_capture"},"secret":"`+secret+`","users_file":"`+users+`","bind_ip":true,"idle_timeout":1800000000000}`)
	defer done()
	ck := login(b, h, "+12015550123", "alice")
	r := request("GET", "/app/page", "")
	asUser(r, "alice")
	r.Header.Set("Accept", "text/html")
	w := &discard{}
	var passed bool
	next := okNextFunc(&passed)
	cookie := []string{ck.Name + "=" + ck.Value}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		passed = false
		r.Header["Cookie"] = cookie
		if err := h.ServeHTTP(w, r, next); err != nil || !passed {
			b.Fatal("session not accepted")
		}
	}
}

// BenchmarkUnauthenticatedRedirect is a browser with no session.
func BenchmarkUnauthenticatedRedirect(b *testing.B) {
	h, done := newHandler(b, baseConfig)
	defer done()
	r := request("GET", "/app/page?x=1", "")
	r.Header.Set("Accept", "text/html")
	w := &discard{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		h.ServeHTTP(w, r, okNext)
	}
	if w.Header().Get("Location") == "" {
		b.Fatal("no redirect")
	}
}

// BenchmarkForwardAuth is a proxy's auth request with a session
// (docs/forward-auth.md): every app request behind nginx or Traefik
// costs one.
func BenchmarkForwardAuth(b *testing.B) {
	h, done := newHandler(b, baseConfig)
	defer done()
	ck := login(b, h, "+12015550123")
	r := request("GET", "/_otp/auth", "")
	r.AddCookie(ck)
	r.Header.Set("X-Forwarded-Uri", "/app/page?x=1")
	w := &discard{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		h.ServeHTTP(w, r, okNext)
	}
	if w.code != http.StatusOK || w.Header().Get("X-Verified-Phone") == "" {
		b.Fatalf("auth answered %d without the phone", w.code)
	}
}

// BenchmarkForwardAuthNoSession is the auth request of a visitor with no
// session: 401 with the login page as Location.
func BenchmarkForwardAuthNoSession(b *testing.B) {
	h, done := newHandler(b, baseConfig)
	defer done()
	r := request("GET", "/_otp/auth", "")
	r.Header.Set("X-Forwarded-Uri", "/app/page?x=1")
	w := &discard{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		h.ServeHTTP(w, r, okNext)
	}
	if w.code != http.StatusUnauthorized || w.Header().Get("Location") == "" {
		b.Fatalf("auth answered %d, Location %q", w.code, w.Header().Get("Location"))
	}
}

// BenchmarkRateLimitedSend is a flood from one client past limit_ip.
func BenchmarkRateLimitedSend(b *testing.B) {
	h, done := newHandler(b, `{"sms":{"provider":"bench_capture"},"secret":"`+secret+`","limit_ip":1}`)
	defer done()
	w := &discard{}
	body := `{"phone":"+12015550199"}`
	h.ServeHTTP(w, jsonPost("/_otp/send", body), okNext) // takes the one slot
	// Refused before its body is read: this instance remembers the refusal
	// (internal/flow/refused.go), so a flood from one address costs no
	// store call and no parsing.
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		h.ServeHTTP(w, jsonPost("/_otp/send", body), okNext)
	}
	if w.Header().Get("Retry-After") == "" {
		b.Fatal("not rate limited")
	}
}

// BenchmarkSend is a code made and handed to a provider that keeps it.
func BenchmarkSend(b *testing.B) {
	h, done := newHandler(b, `{"sms":{"provider":"bench_capture"},"secret":"`+secret+`","limit_ip":1000000000,"limit_global":1000000000}`)
	defer done()
	w := &discard{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		h.ServeHTTP(w, jsonPost("/_otp/send", fmt.Sprintf(`{"phone":"+1201555%04d"}`, i%10000)), okNext)
	}
}

func jsonPost(target, body string) *http.Request {
	r := request("POST", target, body)
	r.Header.Set("Content-Type", "application/json")
	return r
}

func okNextFunc(passed *bool) caddyhttpHandler {
	return caddyhttpHandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		*passed = r.Header.Get("X-Verified-Phone") != ""
		return nil
	})
}

// BenchmarkMillionPendingCodes sends a code to a million phones through
// the handler and reports the heap they hold (codes, resend gates and
// per-phone counters in the memory store). Run with -benchtime 1x.
func BenchmarkMillionPendingCodes(b *testing.B) {
	phones := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("BENCH_CODES")); err == nil {
		phones = n // a smaller run, e.g. to profile
	}
	for i := 0; i < b.N; i++ {
		before := heapInUse()
		h, done := newHandler(b, `{"sms":{"provider":"bench_capture"},"secret":"`+secret+`","limit_ip":1000000000,"limit_global":1000000000}`)
		w := &discard{}
		for p := 0; p < phones; p++ {
			w.reset()
			r := jsonPost("/_otp/send", fmt.Sprintf(`{"phone":"+1201%07d"}`, 2000000+p))
			h.ServeHTTP(w, r, okNext)
		}
		captured.Clear()
		b.ReportMetric(float64(heapInUse()-before)/1e6, "MB-heap")
		b.ReportMetric(float64(heapInUse()-before)/float64(phones), "B/code")
		done()
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkSessionCheckParallel is the session check from every core at
// once, with one session, as a load test from one browser drives it.
func BenchmarkSessionCheckParallel(b *testing.B) {
	h, done := newHandler(b, baseConfig)
	defer done()
	ck := login(b, h, "+12015550123")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := request("GET", "/app/page", "")
		r.Header.Set("Accept", "text/html")
		w := &discard{}
		cookie := []string{ck.Name + "=" + ck.Value}
		var passed bool
		next := okNextFunc(&passed)
		for pb.Next() {
			r.Header["Cookie"] = cookie
			if err := h.ServeHTTP(w, r, next); err != nil || !passed {
				b.Fatal("session not accepted")
			}
		}
	})
}

// BenchmarkFreshRequestBaseline is what Caddy does for every request
// before any handler: a fresh replacer and the request's context.
// BenchmarkSessionCheckFreshRequest minus it is the session check as a
// real request pays it (a fresh replacer, a server with no access log).
func BenchmarkFreshRequestBaseline(b *testing.B) {
	srv := &caddyhttp.Server{}
	raw := httptest.NewRequest("GET", "/app/page", nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = caddyhttp.PrepareRequest(raw, caddy.NewReplacer(), nil, srv)
	}
}

func BenchmarkSessionCheckFreshRequest(b *testing.B) {
	h, done := newHandler(b, baseConfig)
	defer done()
	ck := login(b, h, "+12015550123")
	srv := &caddyhttp.Server{}
	raw := httptest.NewRequest("GET", "/app/page", nil)
	cookie := []string{ck.Name + "=" + ck.Value}
	w := &discard{}
	var passed bool
	next := okNextFunc(&passed)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := caddyhttp.PrepareRequest(raw, caddy.NewReplacer(), nil, srv)
		r.Header["Cookie"] = cookie
		h.ServeHTTP(w, r, next)
	}
}
