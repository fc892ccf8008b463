package fakegw

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// recorder is a test that keeps its errors and runs its cleanups when
// told, so a test can see what a fake reports at its end.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}
func (r *recorder) Fatalf(format string, a ...any) { r.TB.Fatalf(format, a...) }
func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// call sends a request to a fake and returns its status and body.
func call(t *testing.T, method, u, ctype, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", "caddy-phone-otp/test")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDexatel(t *testing.T) {
	f := NewDexatel(t)
	create := `{"data":{"sender":"` + DexatelSender + `","phone":"12015550123","template":"` + DexatelTemplate + `","channel":"SMS","code":"123456"}}`
	if st, _ := call(t, "POST", f.URL()+"/v1/verifications", "application/json", create, "X-Dexatel-Key", "wrong"); st != 401 || f.LastStatus() != 401 {
		t.Errorf("wrong key: %d", st)
	}
	st, body := call(t, "POST", f.URL()+"/v1/verifications", "application/json", create, "X-Dexatel-Key", DexatelKey)
	if st != 201 || !strings.Contains(body, `"message_id":"msg-1"`) {
		t.Errorf("create: %d %s", st, body)
	}
	if f.ReadCode(t, "+12015550123") != "123456" || f.Sent("+12015550123") != 1 {
		t.Errorf("code %q, sent %d", f.ReadCode(t, "+12015550123"), f.Sent("+12015550123"))
	}
	st, body = call(t, "GET", f.URL()+"/v1/verifications?phone=12015550123&code=123456", "", "", "X-Dexatel-Key", DexatelKey)
	if st != 200 || !strings.Contains(body, `"code":"123456"`) || len(f.Checks()) != 1 {
		t.Errorf("check: %d %s %v", st, body, f.Checks())
	}
	f.Set("fail")
	if st, body := call(t, "GET", f.URL()+"/v1/verifications?phone=1&code=1", "", "", "X-Dexatel-Key", DexatelKey); st != 500 || !strings.Contains(body, `"errors"`) {
		t.Errorf("fail mode: %d %s", st, body)
	}
}

// TestBadRequestsFailTheTest: a request the real API would refuse is an
// error of the test that made the fake, reported as it ends.
func TestBadRequestsFailTheTest(t *testing.T) {
	for _, tt := range []struct {
		name string
		send func(t *testing.T, r *recorder)
	}{
		{"dexatel without template", func(t *testing.T, r *recorder) {
			f := NewDexatel(r)
			call(t, "POST", f.URL()+"/v1/verifications", "application/json",
				`{"data":{"sender":"`+DexatelSender+`","phone":"12015550123","channel":"SMS","code":"123456"}}`, "X-Dexatel-Key", DexatelKey)
		}},
		{"twilio without From", func(t *testing.T, r *recorder) {
			f := NewGateways(r)
			req, _ := http.NewRequest("POST", f.URL()+"/2010-04-01/Accounts/"+TwilioAccount+"/Messages.json",
				strings.NewReader(url.Values{"To": {"+12015550123"}, "Body": {"x"}}.Encode()))
			req.SetBasicAuth(TwilioAccount, TwilioToken)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("User-Agent", "caddy-phone-otp/test")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}},
		{"slow gateway path", func(t *testing.T, r *recorder) {
			call(t, "GET", NewSlow(r).URL()+"/nowhere", "", "")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			tt.send(t, r)
			r.end()
			if len(r.errs) != 1 || !strings.Contains(r.errs[0], "bad request from the plugin") {
				t.Errorf("errors %q, want one bad request", r.errs)
			}
		})
	}
}

func TestGatewaysReadTheOriginBoundLine(t *testing.T) {
	f := NewGateways(t)
	form := url.Values{"api_key": {VonageKey}, "api_secret": {VonageSecret}, "from": {"B"}, "to": {"12015550123"},
		"text": {"Your code is 654321\n\n@localhost #654321"}}
	st, body := call(t, "POST", f.URL()+"/sms/json", "application/x-www-form-urlencoded", form.Encode())
	if st != 200 || !strings.Contains(body, `"status":"0"`) {
		t.Fatalf("vonage: %d %s", st, body)
	}
	if c := f.ReadCode(t, "+12015550123"); c != "654321" || f.Sent("+12015550123") != 1 {
		t.Errorf("code %q", c)
	}
}

func TestSlowModes(t *testing.T) {
	g := NewSlow(t)
	g.Unreachable("+12015550999")
	for _, tt := range []struct {
		mode, phone string
		status      int
	}{
		{"", "+12015550123", 200},
		{"refuse", "+12015550123", 400},
		{"5xx", "+12015550123", 503},
		{"", "+12015550999", 400},
	} {
		g.Set(tt.mode)
		if st, _ := call(t, "POST", g.URL()+"/d/"+tt.phone+"/123456", "", ""); st != tt.status {
			t.Errorf("mode %q to %s: %d, want %d", tt.mode, tt.phone, st, tt.status)
		}
	}
	if g.Reached() != 2 || !g.Took("+12015550123") || g.Took("+12015550999") || len(g.Codes()) != 4 {
		t.Errorf("reached %d, codes %v", g.Reached(), g.Codes())
	}
}

func TestReply(t *testing.T) {
	f := NewReply(t, 418, `{"x":1}`)
	if st, body := call(t, "POST", f.URL()+"/p?q=1", "text/plain", "hello"); st != 418 || body != `{"x":1}` {
		t.Errorf("%d %s", st, body)
	}
	if r := f.Last(); r.Method != "POST" || r.Path != "/p" || r.Query().Get("q") != "1" || r.Body != "hello" {
		t.Errorf("last %+v", r)
	}
	e := NewEcho(t, 200)
	if _, body := call(t, "POST", e.URL(), "", "abc"); body != `{"echo":"abc"}` {
		t.Errorf("echo %s", body)
	}
}
