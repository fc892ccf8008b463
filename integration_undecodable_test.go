package caddyotp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// undecodableDexatel is a Dexatel endpoint that takes every verification
// it is sent and answers 200 with a body the client cannot use: an HTML
// page, or a "data" list that is empty. The SMS may well have gone out.
type undecodableDexatel struct {
	srv   *httptest.Server
	posts atomic.Int32
}

func newUndecodableDexatel(t *testing.T, body string) *undecodableDexatel {
	g := &undecodableDexatel{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			g.posts.Add(1)
		}
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *undecodableDexatel) block() string { return dexatelBlock(g.srv.URL, "") }

// TestIntegrationUndecodable2xxCounts is issue 13's follow-up: a gateway
// that answered 2xx took the request, so a send whose answer cannot be
// decoded has an unknown outcome and counts against limit_ip like any
// other; only a definite refusal is refunded.
func TestIntegrationUndecodable2xxCounts(t *testing.T) {
	for i, body := range []string{"<html><body>OK</body></html>", `{"data":[]}`} {
		gw := newUndecodableDexatel(t, body)
		newEnv(t, opts{sms: gw.block(), otp: "limit_ip 1"})
		b := newBrowser()
		b.postJSON(t, prefix+"/send", fmt.Sprintf(`{"phone":"+1201555%04d"}`, 700+2*i)).wantJSON(t, 502, map[string]any{"error": "sms_failed"})
		b.postJSON(t, prefix+"/send", fmt.Sprintf(`{"phone":"+1201555%04d"}`, 701+2*i)).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
		if n := gw.posts.Load(); n != 1 {
			t.Errorf("body %q: %d sends reached the gateway from one client with limit_ip 1", body, n)
		}
	}
}
