package fakegw

import (
	"encoding/json"
	"net/http"
	"testing"
)

// JSONAPI is a Reply that first checks what a JSON messaging API checks
// of every request (POST to path, the Authorization header auth, a JSON
// body with Content-Type application/json, the User-Agent for version),
// then hands the decoded body to inspect, if any; a failed check is an
// error of t. It answers JSON. The providers added in issue 17 (Telnyx,
// Plivo, Sinch, Infobip, MessageBird) are all of this kind; their paths
// and bodies are in their own files.
func JSONAPI[T testing.TB](t T, path, auth, version string, status int, body string, inspect func(t T, body map[string]any)) *Reply {
	t.Helper()
	f := newReply(t, status, body, false, func(r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != path {
			t.Errorf("%s %s, want POST %s", r.Method, r.URL.Path, path)
		}
		if got := r.Header.Get("Authorization"); got != auth {
			t.Errorf("Authorization %q, want %q", got, auth)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if ua := r.Header.Get("User-Agent"); ua != "caddy-phone-otp/"+version {
			t.Errorf("User-Agent %q", ua)
		}
		if len(r.URL.RawQuery) > 0 {
			t.Errorf("something in the query: %q", r.URL.RawQuery)
		}
		var b map[string]any
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Errorf("body: %v", err)
			return
		}
		if inspect != nil {
			inspect(t, b)
		}
	})
	f.ctype = "application/json"
	return f
}

// decodeJSON decodes r's body into v, refusing unknown fields, and
// reports whether it is a JSON POST that decoded.
func decodeJSON(r *http.Request, v any) bool {
	if r.Header.Get("Content-Type") != "application/json" {
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(v) == nil
}

// deliver keeps text as an SMS to phone (E.164 or digits) and returns the
// fake's next sequence number, for an id.
func (f *Gateways) deliver(phone, text string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := phone
	if len(d) > 0 && d[0] == '+' {
		d = d[1:]
	}
	f.texts[d] = append(f.texts[d], text)
	f.seq++
	return f.seq
}
