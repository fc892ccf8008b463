// Package fakegw holds the SMS providers' wire-format fakes that every
// test package shares: Dexatel's Verify API, Twilio's Messages and Verify
// v2 APIs, Vonage's SMS API, a generic JSON webhook, and an HTTP gateway
// that can be slow, fail, hang, reset or answer garbage.
//
// Each fake is an httptest server that speaks the real API's paths,
// headers, bodies and error shapes, keeps what it was sent so a test can
// read a code as a phone would, and reports, as errors of the test that
// made it, every request the real API would refuse. It is ordinary Go,
// not a _test file, so that the root package's integration tests and the
// sms packages' tests use one copy; it must not import the root package.
package fakegw

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
)

// server is what every fake has: the server, a way to end hung requests,
// and the requests it saw that the real API would refuse.
type server struct {
	srv     *httptest.Server
	release chan struct{} // closed at cleanup, so hung requests end

	mu       sync.Mutex // guards protoErr, and the embedding fake's state
	protoErr []string
}

func (f *server) start(t testing.TB, name string, h http.HandlerFunc) {
	f.release = make(chan struct{})
	f.srv = httptest.NewServer(h)
	// Cleanups run last-in first-out: release hung requests, then close.
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() {
		close(f.release)
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, e := range f.protoErr {
			t.Errorf("%s: bad request from the plugin: %s", name, e)
		}
	})
}

// URL is the fake's base URL, to put in a provider's endpoint.
func (f *server) URL() string { return f.srv.URL }

// hang holds a request until the client gives up or the test ends.
func (f *server) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.release:
	}
}

// bad records a request the real API would refuse.
func (f *server) bad(format string, args ...any) {
	f.mu.Lock()
	f.protoErr = append(f.protoErr, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// OriginBound is the last line of an SMS the plugin writes itself:
// "@host #code" (the WebOTP origin-bound line).
var OriginBound = regexp.MustCompile(`\n\n@([^ \n]+) #([0-9]+)$`)
