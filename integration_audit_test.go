package caddyotp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// TestIntegrationLogsHoldNoSecrets runs a whole flow through the real Caddy
// with every log, access log included, at DEBUG in files, and then reads
// them: no code, no whole phone number and no secret may appear in any
// line, and the audit log must hold one line for each thing that happened.
func TestIntegrationLogsHoldNoSecrets(t *testing.T) {
	dir := t.TempDir()
	caddyLog, accessLog := filepath.Join(dir, "caddy.log"), filepath.Join(dir, "access.log")
	const secret = "log-test-secret-0123456789abcdef0123456789"
	t.Setenv("PHONE_OTP_LOG_TEST_SECRET", secret)
	e := newEnv(t, opts{
		global: fmt.Sprintf(`log {
		output file %s
		level DEBUG
	}
	events {
		on phone_otp.verified otp_test_recorder
		on phone_otp.blocked otp_test_recorder
	}`, caddyLog),
		site: fmt.Sprintf("log {\n\t\toutput file %s\n\t}", accessLog),
		// 8 digits, so that a code cannot turn up by chance in a
		// timestamp or a port.
		otp: "code_length 8\n\t\tsecret {env.PHONE_OTP_LOG_TEST_SECRET}",
	})
	const (
		formPhone = "+12015550191"
		blocked   = "+12015550192"
		german    = "+4915123456789"
		failing   = "+12015550193"
		typo      = "+1 201 555 0194x" // not a number, yet nearly one
	)
	var typed []string // every code a visitor typed, right or wrong

	// A browser signs in with forms, reaches the app, and signs out.
	b := newBrowser()
	b.page(t, "/app/x").wantStatus(t, 302)
	csrf := b.csrf(t)
	b.postForm(t, prefix+"/send", url.Values{"csrf": {csrf}, "phone": {"+1 (201) 555-0191"}, "return": {"/app/x"}}).wantStatus(t, 303)
	r := b.page(t, prefix+"/verify")
	csrf = r.field(t, csrfRE)
	code := e.dex.ReadCode(t, formPhone)
	typed = append(typed, wrong(code), code)
	b.postForm(t, prefix+"/verify", url.Values{"csrf": {csrf}, "code": {wrong(code)}}).wantStatus(t, 401)
	b.postForm(t, prefix+"/verify", url.Values{"csrf": {csrf}, "code": {code}}).wantStatus(t, 303)
	b.page(t, "/app/x").echo(t)
	b.get(t, prefix+"/session").wantStatus(t, 200)
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+formPhone+`"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
	b.postForm(t, prefix+"/logout", url.Values{"csrf": {csrf}}).wantStatus(t, 303)

	// Three wrong codes block a phone; an admin unblocks it; it signs in.
	j := newBrowser()
	j.postJSON(t, prefix+"/send", `{"phone":"`+blocked+`"}`).wantStatus(t, 200)
	bad := wrong(e.dex.ReadCode(t, blocked))
	typed = append(typed, bad)
	for range 2 {
		j.postJSON(t, prefix+"/verify", `{"code":"`+bad+`"}`).wantStatus(t, 401)
	}
	j.postJSON(t, prefix+"/verify", `{"code":"`+bad+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})
	admin(t, http.MethodGet, "/phone_otp/blocked", "").wantStatus(t, 200)
	admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+blocked+`"}`).wantStatus(t, 200)
	admin(t, http.MethodPost, "/phone_otp/unblock", `{"phone":"`+blocked[1:]+`"}`).wantStatus(t, 400)
	login(t, e.dex, j.here(), blocked)
	typed = append(typed, e.dex.ReadCode(t, blocked))
	admin(t, http.MethodPost, "/phone_otp/revoke", `{"phone":"`+blocked+`"}`).wantStatus(t, 200)

	// Another country, a provider failure, and a mistyped number.
	login(t, e.dex, newBrowser().here(), german)
	typed = append(typed, e.dex.ReadCode(t, german))
	e.dex.Set("fail")
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+failing+`"}`).wantStatus(t, 502)
	e.dex.Set("")
	newBrowser().postJSON(t, prefix+"/send", `{"phone":"`+typo+`"}`).wantStatus(t, 400)

	// Caddy's file writers are buffered by the OS only: lines are there.
	lines := readLines(t, caddyLog)
	access := readLines(t, accessLog)
	if len(access) == 0 {
		t.Fatal("the access log is empty: the test reads nothing")
	}
	all := append(append([]string(nil), lines...), access...)
	// DEBUG is on: the events app logs each event's data, and
	// reverse_proxy the request it sent upstream.
	for _, want := range []string{`"logger":"events","msg":"event"`, `"msg":"upstream roundtrip"`} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) }) {
			t.Errorf("no log line holds %s: the test does not read what it should", want)
		}
	}

	var secrets []*regexp.Regexp
	for _, c := range typed {
		secrets = append(secrets, regexp.MustCompile(`(^|\D)`+c+`(\D|$)`))
	}
	for _, p := range []string{formPhone, blocked, german, failing} {
		digits := p[1:]
		secrets = append(secrets, regexp.MustCompile(regexp.QuoteMeta(digits)))
		national := digits[len(digits)-10:] // 2015550191, 15123456789 → its last ten
		secrets = append(secrets, regexp.MustCompile(regexp.QuoteMeta(national)))
	}
	secrets = append(secrets, regexp.MustCompile(`2015550194`),
		regexp.MustCompile(regexp.QuoteMeta(secret)), regexp.MustCompile(fakegw.DexatelKey))
	for _, line := range all {
		line = withoutUpstreamIdentity(line)
		for _, re := range secrets {
			if re.MatchString(line) {
				t.Errorf("a log line holds %s:\n%s", re, line)
			}
		}
	}

	// The audit log has its own logger and one line per event.
	audit := map[string]int{}
	for _, line := range lines {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["logger"] != "http.handlers.phone_otp.audit" {
			continue
		}
		if l["issuer"] != e.issuer {
			t.Errorf("audit line of another issuer: %s", line)
		}
		key := fmt.Sprintf("%v %v %v", l["msg"], l["phone"], l["outcome"])
		if l["msg"] == "send" && l["outcome"] == "sent" {
			if id, _ := l["message_id"].(string); !strings.HasPrefix(id, "msg-") {
				t.Errorf("send line without the provider's message id: %s", line)
			}
		}
		if l["msg"] == "send" && l["outcome"] == "rate_limited" && l["limit"] != "resend" {
			t.Errorf("rate-limit line without the limit: %s", line)
		}
		audit[key]++
	}
	for key, n := range map[string]int{
		"send +1******0191 sent":           1,
		"verify +1******0191 invalid_code": 1,
		"verify +1******0191 verified":     1,
		"send +1******0191 rate_limited":   1,
		"logout +1******0191 logged_out":   1,
		"send +1******0192 sent":           2,
		"verify +1******0192 invalid_code": 2,
		"verify +1******0192 blocked":      1,
		"block +1******0192 blocked":       1,
		"unblock +1******0192 unblocked":   1,
		"verify +1******0192 verified":     1,
		"revoke +1******0192 revoked":      1,
		"send +4********6789 sent":         1,
		"verify +4********6789 verified":   1,
		"send +1******0193 sms_failed":     1,
		"send  invalid_phone":              1,
	} {
		if audit[key] != n {
			t.Errorf("%d audit lines %q, want %d", audit[key], key, n)
		}
	}

	// Events reach subscribers, from the phone_otp handler, masked.
	got := map[string]int{}
	for _, ev := range eventsFor(e.issuer) {
		if ev.origin != "http.handlers.phone_otp" {
			t.Errorf("event %s from %q", ev.name, ev.origin)
		}
		got[fmt.Sprintf("%s %v", ev.name, ev.data["phone"])]++
	}
	for key, n := range map[string]int{
		"phone_otp.verified +1******0191":   1,
		"phone_otp.blocked +1******0192":    1,
		"phone_otp.verified +1******0192":   1,
		"phone_otp.verified +4********6789": 1,
	} {
		if got[key] != n {
			t.Errorf("%d events %q, want %d; all: %v", got[key], key, n, got)
		}
	}
}

// withoutUpstreamIdentity drops the identity headers from reverse_proxy's
// DEBUG line that shows the request it sent upstream. Sending the phone
// upstream is the product (X-Verified-Phone, and the test's own header_up
// of the placeholders), and Caddy logs outgoing headers at DEBUG; the
// docs/operations.md says to keep reverse_proxy above DEBUG in production. The rest of
// the line is still checked.
func withoutUpstreamIdentity(line string) string {
	if !strings.Contains(line, `"logger":"http.handlers.reverse_proxy"`) ||
		!strings.Contains(line, `"msg":"upstream roundtrip"`) {
		return line
	}
	return upstreamIdentityRE.ReplaceAllString(line, "")
}

var upstreamIdentityRE = regexp.MustCompile(`"(X-Verified-Phone|X-Auth-User-Id|X-Auth-User-Phone)":\["[^"]*"\]`)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(raw)), "\n")
}
