package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

type got struct {
	method, path, query, ctype, body, auth, ua string
}

// seen is what the gateway saw of the last request.
func seen(f *fakegw.Reply) got {
	r := f.Last()
	return got{r.Method, r.Path, r.RawQuery, r.Header.Get("Content-Type"), r.Body,
		r.Header.Get("Authorization"), r.Header.Get("User-Agent")}
}

// A message with everything that needs escaping somewhere.
var msg = Message{Phone: "+12015550123", Text: "123456 is \"your\" code & more\n\n@example.com #123456", Code: "123456"}

func TestSendBodies(t *testing.T) {
	tests := []struct {
		name      string
		header    http.Header
		body      string
		wantCT    string
		checkBody func(t *testing.T, body string)
	}{
		{"json by default", nil, `{"to":"{phone}","text":"{message}","otp":"{code}"}`, JSON, func(t *testing.T, body string) {
			var v map[string]string
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if v["to"] != msg.Phone || v["text"] != msg.Text || v["otp"] != msg.Code {
				t.Errorf("decoded %q", v)
			}
		}},
		{"json with charset", http.Header{"Content-Type": {"application/json; charset=utf-8"}}, `{"t":"{message}"}`, "application/json; charset=utf-8", func(t *testing.T, body string) {
			var v map[string]string
			if err := json.Unmarshal([]byte(body), &v); err != nil || v["t"] != msg.Text {
				t.Errorf("body %q: %v", body, err)
			}
		}},
		{"form by default", nil, `to={phone_digits}&text={message}`, Form, func(t *testing.T, body string) {
			v, err := url.ParseQuery(body)
			if err != nil || v.Get("to") != "12015550123" || v.Get("text") != msg.Text || len(v) != 2 {
				t.Errorf("body %q: %v %v", body, v, err)
			}
		}},
		{"plain text as is", http.Header{"Content-Type": {"text/plain"}}, `{phone}: {message}`, "text/plain", func(t *testing.T, body string) {
			if body != msg.Phone+": "+msg.Text {
				t.Errorf("body %q", body)
			}
		}},
		{"a placeholder inside a value is not filled again", nil, `{"t":"{message}"}`, JSON, func(t *testing.T, body string) {
			if body != `{"t":"{code} literally"}` {
				t.Errorf("body %q", body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.NewEcho(t, 200)
			c := &Client{URL: srv.URL() + "/send", Header: tt.header, Body: tt.body, Version: "v1", HTTPClient: NewHTTPClient(2 * time.Second)}
			if err := c.Check(); err != nil {
				t.Fatalf("Check: %v", err)
			}
			m := msg
			if strings.Contains(tt.name, "not filled again") {
				m.Text = "{code} literally"
			}
			if err := c.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			g := seen(srv)
			if g.method != "POST" || g.path != "/send" || g.ctype != tt.wantCT || g.ua != "caddy-phone-otp/v1" {
				t.Errorf("got %+v", g)
			}
			tt.checkBody(t, g.body)
		})
	}
}

func TestSendGETWithQuery(t *testing.T) {
	srv := fakegw.NewEcho(t, 200)
	c := &Client{URL: srv.URL() + "/api?key=k&to={phone}&msg={message}", Method: "GET",
		Header: http.Header{"Authorization": {"Bearer tok"}}}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	g := seen(srv)
	q, _ := url.ParseQuery(g.query)
	if g.method != "GET" || q.Get("to") != msg.Phone || q.Get("msg") != msg.Text || q.Get("key") != "k" || g.body != "" || g.ctype != "" {
		t.Errorf("got %+v, query %v", g, q)
	}
	if g.auth != "Bearer tok" {
		t.Errorf("Authorization %q", g.auth)
	}
}

func TestSendStatuses(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		success []int
		ok      bool
	}{
		{"200 default", 200, nil, true},
		{"204 default", 204, nil, true},
		{"302 default", 302, nil, false},
		{"400 default", 400, nil, false},
		{"500 default", 500, nil, false},
		{"202 listed", 202, []int{202}, true},
		{"200 not listed", 200, []int{202}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.NewEcho(t, tt.status)
			c := &Client{URL: srv.URL(), Body: `{"t":"{message}"}`, Success: tt.success}
			err := c.Send(context.Background(), msg)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok %v", err, tt.ok)
			}
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.Status != tt.status) {
				t.Errorf("err %+v", err)
			}
			if err != nil && strings.Contains(err.Error(), "123456") {
				t.Errorf("error %q holds the code the gateway echoed", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		c    Client
		want string
	}{
		{"ok", Client{URL: "https://sms.example/send", Body: `{"to":"{phone}"}`}, ""},
		{"relative", Client{URL: "/send"}, "absolute"},
		{"ftp", Client{URL: "ftp://x/"}, "absolute"},
		{"unparsable", Client{URL: "http://[::1"}, "url"},
		{"lower-case method", Client{URL: "https://x/", Method: "post"}, "method"},
		{"status out of range", Client{URL: "https://x/", Success: []int{99}}, "status"},
		{"placeholder outside quotes", Client{URL: "https://x/", Body: `{"to":{phone}}`}, "valid JSON"},
		{"broken JSON", Client{URL: "https://x/", Body: `{"to":"{phone}"`}, "valid JSON"},
		{"form body is not JSON-checked", Client{URL: "https://x/", Body: `to={phone}`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Check()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Check() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSendRefusesBadPhone(t *testing.T) {
	c := &Client{URL: "http://127.0.0.1:1/"}
	if err := c.Send(context.Background(), Message{Phone: "+1 201"}); err == nil {
		t.Error("bad phone sent")
	}
}
