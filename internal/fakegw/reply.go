package fakegw

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// Reply is a provider's API reduced to one answer, for a client's unit
// tests: it answers every request with one status and body (or, made by
// NewEcho, with the request's own body), and keeps the last request it
// saw. DexatelAPI, TwilioAPI and VonageAPI put in front of it the checks
// the real API makes of every request.
type Reply struct {
	server
	status int
	body   string
	echo   bool
	ctype  string // the answer's Content-Type, if any
	check  func(*http.Request)
	last   Request
}

// Request is what a fake saw of one request.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

// Query is the request's query, parsed.
func (r Request) Query() url.Values {
	q, _ := url.ParseQuery(r.RawQuery)
	return q
}

// NewReply starts a fake that answers every request with status and
// body; it ends with t.
func NewReply(t testing.TB, status int, body string) *Reply {
	return newReply(t, status, body, false, nil)
}

// NewEcho starts a fake that answers every request with status and
// {"echo":"<the request's body>"}, as gateways that repeat what they were
// sent do, code included.
func NewEcho(t testing.TB, status int) *Reply {
	return newReply(t, status, "", true, nil)
}

func newReply(t testing.TB, status int, body string, echo bool, check func(*http.Request)) *Reply {
	f := &Reply{status: status, body: body, echo: echo, check: check}
	f.start(t, "fake API", f.serve)
	return f
}

// Answer changes the status and body the fake answers with.
func (f *Reply) Answer(status int, body string) {
	f.mu.Lock()
	f.status, f.body = status, body
	f.mu.Unlock()
}

// Last is the last request the fake saw.
func (f *Reply) Last() Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *Reply) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	// The checks read the body again.
	r.Body = io.NopCloser(bytes.NewReader(b))
	f.mu.Lock()
	f.last = Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(b)}
	status, body := f.status, f.body
	f.mu.Unlock()
	if f.check != nil {
		f.check(r)
	}
	if f.echo {
		body = `{"echo":"` + string(b) + `"}`
	}
	if f.ctype != "" {
		w.Header().Set("Content-Type", f.ctype)
	}
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// DexatelAPI is a Reply that first checks what Dexatel checks of every
// request (path, X-Dexatel-Key, Accept, the User-Agent for version),
// then hands it to inspect, if any; a failed check is an error of t.
func DexatelAPI[T testing.TB](t T, key, version string, status int, body string, inspect func(t T, r *http.Request)) *Reply {
	t.Helper()
	return newReply(t, status, body, false, func(r *http.Request) {
		if r.URL.Path != "/v1/verifications" {
			t.Errorf("path = %q, want /v1/verifications", r.URL.Path)
		}
		if got := r.Header.Get("X-Dexatel-Key"); got != key {
			t.Errorf("X-Dexatel-Key = %q, want %q", got, key)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q", got)
		}
		if got := r.Header.Get("User-Agent"); got != "caddy-phone-otp/"+version {
			t.Errorf("User-Agent = %q", got)
		}
		if inspect != nil {
			inspect(t, r)
		}
	})
}

// TwilioAPI is a Reply that first checks what Twilio checks of every
// request (POST to path, basic auth, a form body, the User-Agent for
// version), then hands the form to inspect, if any; a failed check is an
// error of t. It answers JSON.
func TwilioAPI[T testing.TB](t T, path, user, password, version string, status int, body string, inspect func(t T, form url.Values)) *Reply {
	t.Helper()
	f := newReply(t, status, body, false, func(r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != path {
			t.Errorf("%s %s, want POST %s", r.Method, r.URL.Path, path)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			t.Errorf("basic auth %q:%q", u, p)
		}
		formChecks(t, r, version)
		if inspect != nil {
			inspect(t, r.PostForm)
		}
	})
	f.ctype = "application/json"
	return f
}

// VonageAPI is a Reply that first checks what Vonage's SMS API checks of
// every request (POST /sms/json, a form body and nothing in the query,
// the User-Agent for version), then hands the form to inspect, if any; a
// failed check is an error of t. It answers JSON.
func VonageAPI[T testing.TB](t T, version string, status int, body string, inspect func(t T, form url.Values)) *Reply {
	t.Helper()
	f := newReply(t, status, body, false, func(r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/sms/json" {
			t.Errorf("%s %s, want POST /sms/json", r.Method, r.URL.Path)
		}
		formChecks(t, r, version)
		if len(r.URL.RawQuery) > 0 {
			t.Errorf("credentials or message in the query: %q", r.URL.RawQuery)
		}
		if inspect != nil {
			inspect(t, r.PostForm)
		}
	})
	f.ctype = "application/json"
	return f
}

// formChecks are the checks of a form-posting API: Content-Type,
// User-Agent, a body that parses.
func formChecks(t testing.TB, r *http.Request, version string) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", ct)
	}
	if ua := r.Header.Get("User-Agent"); ua != "caddy-phone-otp/"+version {
		t.Errorf("User-Agent %q", ua)
	}
	if err := r.ParseForm(); err != nil {
		t.Errorf("form: %v", err)
	}
}

// Hang is the URL of a provider that never answers: it holds every
// request until the client gives up or t ends.
func Hang(t testing.TB) string {
	f := &server{}
	f.start(t, "hanging API", func(_ http.ResponseWriter, r *http.Request) { f.hang(r) })
	return f.URL()
}

// Closed is the URL of a provider that is gone: nothing listens there
// any more, so a request fails to connect.
func Closed() string {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}
