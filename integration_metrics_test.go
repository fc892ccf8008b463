package caddyotp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// TestIntegrationMetrics walks a scripted flow through the real Caddy and
// reads every caddy_phone_otp_* series back from the admin /metrics.
// Counters are process-wide (they survive reloads, as they must), so the
// test compares before and after.
func TestIntegrationMetrics(t *testing.T) {
	e := newEnv(t, opts{global: "metrics", otp: "limit_global 3"})
	before := scrape(t)
	const (
		phoneA = "+12015550171"
		phoneB = "+12015550172"
		phoneC = "+12015550173"
		phoneD = "+12015550174"
		phoneE = "+12015550175"
	)

	// A: a wrong code, the right one, a resend too soon, a logout.
	a := newBrowser()
	a.postJSON(t, prefix+"/send", `{"phone":"`+phoneA+`"}`).wantStatus(t, 200)
	code := e.dex.ReadCode(t, phoneA)
	a.postJSON(t, prefix+"/verify", `{"code":"`+wrong(code)+`"}`).wantStatus(t, 401)
	a.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantStatus(t, 200)
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phoneA+`"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
	a.postJSON(t, prefix+"/logout", "").wantStatus(t, 200)

	// B: three wrong codes block it.
	b := newBrowser()
	b.postJSON(t, prefix+"/send", `{"phone":"`+phoneB+`"}`).wantStatus(t, 200)
	code = wrong(e.dex.ReadCode(t, phoneB))
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantStatus(t, 401)
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantStatus(t, 401)
	b.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})

	// C: the provider refuses (401, a definite refusal, so it spends no
	// budget; a 500 would).
	e.dex.SetKey("rotated")
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phoneC+`"}`).wantStatus(t, 502)
	e.dex.SetKey(fakegw.DexatelKey)

	// D: a used code replayed with its old challenge is expired; a verify
	// with no challenge at all is invalid.
	d := newBrowser()
	d.postJSON(t, prefix+"/send", `{"phone":"`+phoneD+`"}`).wantStatus(t, 200)
	challenge := d.here().cookie(t, "otp_session_challenge", prefix+"/verify")
	code = e.dex.ReadCode(t, phoneD)
	d.postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantStatus(t, 200)
	newBrowser().postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`, "Cookie", "otp_session_challenge="+challenge).
		wantJSON(t, 410, map[string]any{"error": "expired"})
	newBrowser().postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantStatus(t, 400)

	// E: A, B and D spent the global budget of 3.
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+phoneE+`"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})

	// An admin revokes D's sessions.
	admin(t, http.MethodPost, "/phone_otp/revoke", `{"phone":"`+phoneD+`","issuer":"`+e.issuer+`"}`).wantStatus(t, 200)

	after := scrape(t)
	const p = "caddy_phone_otp_"
	want := map[string]float64{
		p + `codes_sent_total{channel="default",provider="dexatel"}`:   3,
		p + `codes_failed_total{channel="default",provider="dexatel"}`: 1,
		p + `verifications_total{outcome="verified"}`:                  2,
		p + `verifications_total{outcome="wrong"}`:                     3,
		p + `verifications_total{outcome="blocked"}`:                   1,
		p + `verifications_total{outcome="expired"}`:                   1,
		p + `verifications_total{outcome="invalid"}`:                   1,
		p + `verifications_total{outcome="error"}`:                     0,
		p + `blocks_total`:                                                          1,
		p + `rate_limited_total{limit="resend"}`:                                    1,
		p + `rate_limited_total{limit="global"}`:                                    1,
		p + `rate_limited_total{limit="ip"}`:                                        0,
		p + `rate_limited_total{limit="phone"}`:                                     0,
		p + `sessions_issued_total`:                                                 2,
		p + `sessions_revoked_total{reason="logout"}`:                               1,
		p + `sessions_revoked_total{reason="admin"}`:                                1,
		p + `provider_request_duration_seconds_count{op="send",provider="dexatel"}`: 4,
	}
	for series, delta := range want {
		got, ok := after[series]
		if !ok {
			t.Errorf("%s is not exposed", series)
			continue
		}
		if got-before[series] != delta {
			t.Errorf("%s went from %v to %v, want +%v", series, before[series], got, delta)
		}
	}
	for series := range after {
		if strings.Contains(series, "+1") || strings.Contains(series, "2015550") {
			t.Errorf("a phone number in a metric series: %s", series)
		}
	}
}
