package caddyotp_test

import (
	"net/url"
	"strings"
	"testing"
)

func TestIntegrationRateLimits(t *testing.T) {
	e := newEnv(t, opts{otp: "limit_ip 2"})
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550139"}`).wantJSON(t, 200, nil)

	r := b.postJSON(t, prefix+"/send", `{"phone":"+12015550139"}`)
	r.wantRetryAfter(t, r.wantJSON(t, 429, map[string]any{"error": "rate_limited"}), 1, 30)

	// The refused resend took no slot of the client's IP.
	b.postJSON(t, prefix+"/send", `{"phone":"+12015550140"}`).wantJSON(t, 200, nil)
	r = newBrowser().postJSON(t, prefix+"/send", `{"phone":"+12015550141"}`)
	r.wantRetryAfter(t, r.wantJSON(t, 429, map[string]any{"error": "rate_limited"}), 31, 3600)
	if e.dex.Sent("+12015550139") != 1 || e.dex.Sent("+12015550141") != 0 {
		t.Errorf("rate-limited sends reached Dexatel")
	}

	t.Run("form answers 429 with Retry-After too", func(t *testing.T) {
		r := b.postForm(t, prefix+"/send", url.Values{"csrf": {b.csrf(t)}, "phone": {"+12015550142"}})
		r.wantStatus(t, 429)
		if r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many tries") {
			t.Errorf("Retry-After %q; page:\n%s", r.Header.Get("Retry-After"), r.body)
		}
	})
}
