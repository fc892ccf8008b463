package fakegw

import (
	"strings"
	"testing"
)

// jsonFake is one JSON provider fake of Gateways, for testJSONFake.
type jsonFake struct {
	path       string
	auth       []string // header name and the value the fake accepts
	body       string   // a request the real API takes, to +12015550123 with text "hello"
	noTo       string   // one it refuses: no destination
	okStatus   int
	okHas      string // in the answer to body
	deniedHas  string // in the answer to a wrong credential (status 401)
	refusedHas string // in the answer in mode "refuse" (a 4xx)
}

// testJSONFake checks what every JSON fake of Gateways does: refuses a
// wrong credential in the API's own shape, delivers a good message,
// refuses it in mode "refuse", and reports a body the API would refuse
// as an error of the test that made it.
func testJSONFake(t *testing.T, c jsonFake) {
	t.Helper()
	rec := &recorder{TB: t}
	f := NewGateways(rec)
	u := f.URL() + c.path
	if st, b := call(t, "POST", u, "application/json", c.body, c.auth[0], c.auth[1]+"x"); st != 401 || !strings.Contains(b, c.deniedHas) {
		t.Errorf("wrong credential: %d %s", st, b)
	}
	if st, b := call(t, "POST", u, "application/json", c.body, c.auth[0], c.auth[1]); st != c.okStatus || !strings.Contains(b, c.okHas) {
		t.Errorf("good request: %d %s", st, b)
	}
	if f.LastText("+12015550123") != "hello" || f.Sent("+12015550123") != 1 {
		t.Errorf("delivered %d, last %q", f.Sent("+12015550123"), f.LastText("+12015550123"))
	}
	f.Set("refuse")
	if st, b := call(t, "POST", u, "application/json", c.body, c.auth[0], c.auth[1]); st < 400 || st > 499 || !strings.Contains(b, c.refusedHas) {
		t.Errorf("refuse: %d %s", st, b)
	}
	f.Set("")
	if len(rec.errs) != 0 {
		t.Errorf("errors before the bad request: %q", rec.errs)
	}
	if st, _ := call(t, "POST", u, "application/json", c.noTo, c.auth[0], c.auth[1]); st != 400 && st != 422 {
		t.Errorf("no destination: %d", st)
	}
	if st, _ := call(t, "POST", u, "text/plain", c.body, c.auth[0], c.auth[1]); st != 400 && st != 422 {
		t.Errorf("not JSON: %d", st)
	}
	rec.end()
	if len(rec.errs) != 2 {
		t.Errorf("the fake reported %q, want the 2 bad requests", rec.errs)
	}
}

func TestJSONAPI(t *testing.T) {
	rec := &recorder{TB: t}
	var seen map[string]any
	f := JSONAPI(rec, "/v1/send", "Bearer k", "test", 202, `{"id":"1"}`, func(_ *recorder, b map[string]any) { seen = b })
	if st, b := call(t, "POST", f.URL()+"/v1/send", "application/json", `{"to":"+1"}`, "Authorization", "Bearer k"); st != 202 || b != `{"id":"1"}` || seen["to"] != "+1" {
		t.Errorf("good request: %d %s, saw %v", st, b, seen)
	}
	if len(rec.errs) != 0 {
		t.Errorf("good request reported: %q", rec.errs)
	}
	call(t, "PUT", f.URL()+"/v1/other?x=1", "text/plain", `{`, "Authorization", "Bearer no")
	if len(rec.errs) != 5 { // method/path, auth, content type, query, body
		t.Errorf("bad request reported %q", rec.errs)
	}
	rec.end()
}
