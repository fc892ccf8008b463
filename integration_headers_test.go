package caddyotp_test

import (
	"regexp"
	"strings"
	"testing"
)

// The identity headers upstream: the verified phone goes up, every copy
// a client sent of it does not.

func TestIntegrationUpstreamHeaders(t *testing.T) {
	e := newEnv(t, opts{})
	const phone = "+12015550126"
	b := newBrowser()
	tok := login(t, e.dex, b.here(), phone)

	spoofs := []string{
		"X-Verified-Phone", "+19995550123",
		"x-verified-phone", "+19995550124",
		"X_Verified_Phone", "+19995550125",
		"x-VERIFIED_phone", "+19995550126",
		"X-Verified.Phone", "+19995550127",
	}
	wantOnlyVerified := func(t *testing.T, app echoed) {
		t.Helper()
		var seen []string
		for name, vals := range app.Headers {
			if strings.EqualFold(strings.NewReplacer("_", "-", ".", "-").Replace(name), "X-Verified-Phone") {
				seen = append(seen, name+": "+strings.Join(vals, ","))
			}
		}
		if len(seen) != 1 || seen[0] != "X-Verified-Phone: "+phone {
			t.Errorf("upstream identity headers %q, want only X-Verified-Phone: %s", seen, phone)
		}
	}
	app := b.get(t, "/app/x", append(spoofs, "Cookie", "other=1; otp_session_csrf=abc; my_otp_session=2")...).echo(t)
	wantOnlyVerified(t, app)
	for h, want := range map[string]string{"X-Auth-User-Id": phone, "X-Auth-User-Phone": phone} {
		if got := strings.Join(app.Headers[h], ","); got != want {
			t.Errorf("{%s placeholder} reached upstream as %q, want %q", h, got, want)
		}
	}
	cookie := strings.Join(app.Headers["Cookie"], "; ")
	if strings.Contains(cookie, tok) || regexp.MustCompile(`(^|; )otp_session`).MatchString(cookie) {
		t.Errorf("upstream got phone_otp's cookies: %q", cookie)
	}
	if !strings.Contains(cookie, "other=1") || !strings.Contains(cookie, "my_otp_session=2") {
		t.Errorf("upstream lost the site's own cookies: %q", cookie)
	}

	// Without a session a forged header gets nowhere.
	newBrowser().get(t, "/app/x", "X-Verified-Phone", phone).wantJSON(t, 401, map[string]any{"error": "otp_required"})

	t.Run("underscore spellings Caddy was told to keep", func(t *testing.T) {
		// By default Caddy drops every header with '_' or '.' itself;
		// with this allowlist only phone_otp stands in the way.
		e.load(t, opts{global: `servers {
			expected_underscore_headers X_Verified_Phone X-Verified_phone Other_Header
		}`})
		app := b.get(t, "/app/x", append(spoofs, "Other_Header", "kept")...).echo(t)
		if got := app.Headers["Other_header"]; len(got) != 1 || got[0] != "kept" {
			t.Fatalf("the allowlist is not in force: upstream got %v", app.Headers)
		}
		wantOnlyVerified(t, app)
	})
}
