package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDo(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantErr    string
	}{
		{"ok", 200, `{"a":1}`, 200, ""},
		{"refusal is not an error here", 400, `{"code":1}`, 400, ""},
		{"redirect is handed back", 302, "", 302, ""},
		{"body at the cap", 200, strings.Repeat("x", MaxBody), 200, ""},
		{"body over the cap", 200, strings.Repeat("x", MaxBody+1), 200, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if ua := r.Header.Get("User-Agent"); ua != "caddy-phone-otp/v9" {
					t.Errorf("User-Agent %q", ua)
				}
				if tt.status == 302 {
					w.Header().Set("Location", "http://elsewhere.invalid/")
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			c := Caller{Provider: "p", Version: "v9", HTTPClient: NewHTTPClient(2 * time.Second)}
			status, raw, err := c.Do("op", req)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d", status, tt.wantStatus)
			}
			if tt.wantErr == "" {
				if err != nil || string(raw) != tt.body {
					t.Errorf("err %v, body %d bytes", err, len(raw))
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.wantErr) || e.Provider != "p" || e.Op != "op" {
				t.Errorf("err %v, want *Error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestDoTransportErrorHidesQueryAndUser(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	u := strings.Replace(closed.URL, "http://", "http://user:pw-secret@", 1) + "/send/%2B12015550124/654321?to=%2B12015550123&text=123456"
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	_, _, err := Caller{Provider: "p"}.Do("op", req)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"pw-secret", "user", "12015550123", "123456", "12015550124", "654321", "/send"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), strings.TrimPrefix(closed.URL, "http://")) {
		t.Errorf("error %q lost the host", err)
	}
	if !Definite(err) {
		t.Errorf("a refused connection is not a definite refusal: %v", err)
	}
}

func TestDoTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	_, _, err := Caller{Provider: "p", HTTPClient: NewHTTPClient(50 * time.Millisecond)}.Do("op", req)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err %v, want a timeout", err)
	}
	if Definite(err) {
		t.Errorf("a timeout is a definite refusal: %v", err)
	}
}

func TestDefinite(t *testing.T) {
	dial := &url.Error{Op: "Post", URL: "http://gw", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	reset := &url.Error{Op: "Post", URL: "http://gw", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}
	dns := &url.Error{Op: "Post", URL: "http://gw", Err: &net.DNSError{Err: "no such host", Name: "gw"}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"4xx", &Error{Status: 401}, true},
		{"429", &Error{Status: 429}, true},
		{"refused in a 200", &Error{Status: 200, Refused: true}, true},
		{"bad input, no call", &Error{Err: errors.New("bad phone"), Unsent: true}, true},
		{"Reject", Caller{}.Reject("op", errors.New("bad phone")), true},
		{"an error that does not say it was unsent", &Error{Err: errors.New("decode")}, false},
		{"no detail at all", &Error{}, false},
		{"unsent, yet an answer came", &Error{Status: 200, Unsent: true}, false},
		{"no connection", &Error{Err: dial}, true},
		{"no such host", &Error{Err: dns}, true},
		{"5xx", &Error{Status: 503}, false},
		{"unreadable 2xx", &Error{Status: 200, Err: errors.New("decode")}, false},
		{"reset", &Error{Err: reset}, false},
		{"timeout", &Error{Err: &url.Error{Op: "Post", URL: "http://gw", Err: context.DeadlineExceeded}}, false},
		{"not an *Error", errors.New("x"), false},
		{"every member definite", &Error{Err: errors.Join(&Error{Status: 400}, &Error{Err: dial})}, true},
		{"one member unknown", &Error{Err: errors.Join(&Error{Status: 400}, &Error{Status: 500})}, false},
		{"a member not tried", &Error{Err: errors.Join(&Error{Status: 400}, context.DeadlineExceeded)}, false},
	}
	for _, tt := range tests {
		if got := Definite(tt.err); got != tt.want {
			t.Errorf("%s: Definite %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPostForm(t *testing.T) {
	req, err := PostForm(context.Background(), "https://x.test/a", url.Values{"To": {"+1 2"}, "Body": {"a&b"}})
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("%s %q", req.Method, req.Header.Get("Content-Type"))
	}
	if err := req.ParseForm(); err != nil || req.PostForm.Get("To") != "+1 2" || req.PostForm.Get("Body") != "a&b" {
		t.Errorf("form %v, %v", req.PostForm, err)
	}
	if _, err := PostForm(context.Background(), "http://[::1", nil); err == nil {
		t.Error("bad URL accepted")
	}
}

func TestDigitsAndE164(t *testing.T) {
	tests := []struct {
		in, digits string
		ok         bool
	}{
		{"+12015550123", "12015550123", true},
		{"12015550123", "12015550123", true},
		{"", "", false},
		{"+", "", false},
		{"++1", "", false},
		{"+1-201", "", false},
		{"+1234567890123456", "", false},
		{"+١٢٣", "", false},
	}
	for _, tt := range tests {
		d, err := Digits(tt.in)
		e, err2 := E164(tt.in)
		if d != tt.digits || (err == nil) != tt.ok || (err2 == nil) != tt.ok {
			t.Errorf("Digits(%q) = %q, %v; E164 %v", tt.in, d, err, err2)
		}
		if tt.ok && e != "+"+tt.digits {
			t.Errorf("E164(%q) = %q", tt.in, e)
		}
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Provider: "twilio", Op: "send message", Status: 400, Code: "21211", Message: "Invalid 'To'", Err: errors.New("x")}
	if got := e.Error(); got != "twilio: send message: HTTP 400: code 21211: Invalid 'To': x" {
		t.Errorf("Error() = %q", got)
	}
	if (&Error{Provider: "p", Op: "o"}).Error() != "p: o" {
		t.Error("bare error")
	}
}

func TestJSON(t *testing.T) {
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b := new(strings.Builder)
		io.Copy(b, r.Body)
		gotBody = b.String()
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(`{"id":"m1"}`))
		case "/garbage":
			w.Write([]byte(`{"id":`))
		default:
			w.WriteHeader(422)
			w.Write([]byte(`{"code":"bad","text":"no such number"}`))
		}
	}))
	defer srv.Close()
	c := Caller{Provider: "p", Version: "v1"}
	var out struct{ ID string }
	parse := func(raw []byte) (string, string) {
		var e struct{ Code, Text string }
		json.Unmarshal(raw, &e)
		return e.Code, e.Text
	}
	err := c.JSON(context.Background(), "send", srv.URL+"/ok", Bearer("tok"), map[string]string{"to": "+1"}, &out, parse)
	if err != nil || out.ID != "m1" {
		t.Fatalf("JSON = %v, %+v", err, out)
	}
	if got.Method != http.MethodPost || got.Header.Get("Authorization") != "Bearer tok" || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("Accept") != "application/json" || gotBody != `{"to":"+1"}` || got.Header.Get("User-Agent") != "caddy-phone-otp/v1" {
		t.Errorf("request %s %v %s", got.Method, got.Header, gotBody)
	}
	err = c.JSON(context.Background(), "send", srv.URL+"/no", nil, map[string]string{}, &out, parse)
	var e *Error
	if !errors.As(err, &e) || e.Status != 422 || e.Code != "bad" || e.Message != "no such number" || !Definite(err) {
		t.Errorf("refusal: %#v", err)
	}
	err = c.JSON(context.Background(), "send", srv.URL+"/garbage", nil, map[string]string{}, &out, parse)
	if !errors.As(err, &e) || e.Status != 200 || e.Err == nil || Definite(err) {
		t.Errorf("garbage: %#v", err)
	}
	if err := c.JSON(context.Background(), "send", srv.URL, nil, func() {}, &out, parse); !Definite(err) {
		t.Errorf("unencodable body: %v", err)
	}
}

func TestURL(t *testing.T) {
	for _, tt := range []struct{ endpoint, def, path, want string }{
		{"", "https://api.example.com", "/v2/messages", "https://api.example.com/v2/messages"},
		{"http://127.0.0.1:8080//", "https://api.example.com", "/v2/messages", "http://127.0.0.1:8080/v2/messages"},
		{"https://eu.example.com", "", "/batches", "https://eu.example.com/batches"},
	} {
		if got := URL(tt.endpoint, tt.def, tt.path); got != tt.want {
			t.Errorf("URL(%q, %q, %q) = %q, want %q", tt.endpoint, tt.def, tt.path, got, tt.want)
		}
	}
}

func TestLacks(t *testing.T) {
	err := Caller{Provider: "toy"}.Lacks("send", 201, "batch id")
	if err.Provider != "toy" || err.Status != 201 || err.Err == nil || err.Error() != "toy: send: HTTP 201: response holds no batch id" {
		t.Errorf("Lacks = %+v (%v)", err, err)
	}
	if err.Definite() {
		t.Error("a 2xx without an id is definite; the gateway may have taken the message")
	}
}
