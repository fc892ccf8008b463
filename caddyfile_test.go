package caddyotp

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfileEveryOption(t *testing.T) {
	input := `phone_otp {
		sms log
		store memory
		prefix /login
		code_length 8
		code_ttl 2m
		max_attempts 5
		block_for 1h
		resend_after 45s
		limit_phone 7
		limit_ip 30
		limit_global 500
		session_ttl 24h
		secret {env.OTP_SECRET}
		issuer example-otp
		cookie_name sid
		cookie_domain example.com
		realm example
		header X-Phone
		allow +12015550123 +4915123456789
		allow +447400123456
		allow_file /etc/caddy/phones.txt
		countries US DE GB
		message "{code} is your {host} code."
		template_dir /etc/caddy/otp-pages
		lang de en
		call log
		logo /etc/caddy/logo.png
	}`
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	want := Handler{
		SMSRaw:       json.RawMessage(`{"provider":"log"}`),
		StoreRaw:     json.RawMessage(`{"module":"memory"}`),
		Prefix:       "/login",
		CodeLength:   8,
		CodeTTL:      caddy.Duration(2 * time.Minute),
		MaxAttempts:  5,
		BlockFor:     caddy.Duration(time.Hour),
		ResendAfter:  caddy.Duration(45 * time.Second),
		LimitPhone:   7,
		LimitIP:      30,
		LimitGlobal:  500,
		SessionTTL:   caddy.Duration(24 * time.Hour),
		Secret:       "{env.OTP_SECRET}",
		Issuer:       "example-otp",
		CookieName:   "sid",
		CookieDomain: "example.com",
		Realm:        "example",
		Header:       "X-Phone",
		Allow:        []string{"+12015550123", "+4915123456789", "+447400123456"},
		AllowFile:    "/etc/caddy/phones.txt",
		Countries:    []string{"US", "DE", "GB"},
		Message:      "{code} is your {host} code.",
		TemplateDir:  "/etc/caddy/otp-pages",
		Lang:         []string{"de", "en"},
		reachOptions: reachOptions{CallRaw: json.RawMessage(`{"provider":"log"}`), Logo: "/etc/caddy/logo.png"},
	}
	if !reflect.DeepEqual(h, want) {
		got, _ := json.MarshalIndent(h, "", "  ")
		exp, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("got\n%s\nwant\n%s", got, exp)
	}
}

func TestUnmarshalCaddyfileProviderBlock(t *testing.T) {
	input := `phone_otp {
		sms dexatel {
			api_key {env.DEXATEL_API_KEY}
			sender MyBrand
			template tpl-1
			check remote
			timeout 5s
		}
	}`
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(h.SMSRaw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"provider": "dexatel", "api_key": "{env.DEXATEL_API_KEY}", "sender": "MyBrand",
		"template": "tpl-1", "check": "remote", "timeout": float64(5 * time.Second),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sms = %v, want %v", got, want)
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	tests := []struct {
		name string
		// body is the block's content; its first line is Testfile:2.
		body string
		line int
		want []string // each must appear in the error
	}{
		{"code_length too long", "sms log\ncode_length 99", 3, []string{"code_length", "99"}},
		{"code_length too short", "code_length 3", 2, []string{"code_length", "3"}},
		{"code_length not a number", "code_length abc", 2, []string{"code_length", "abc"}},
		{"code_ttl over 10m", "code_ttl 1h", 2, []string{"code_ttl"}},
		{"code_ttl bogus", "code_ttl bogus", 2, []string{"code_ttl"}},
		{"max_attempts 0", "max_attempts 0", 2, []string{"max_attempts"}},
		{"block_for under 1m", "block_for 10s", 2, []string{"block_for"}},
		{"resend_after over 1h", "resend_after 2h", 2, []string{"resend_after"}},
		{"limit_ip 0", "limit_ip 0", 2, []string{"limit_ip"}},
		{"session_ttl under 1m", "session_ttl 30s", 2, []string{"session_ttl"}},
		{"literal secret too short", "secret tooshort", 2, []string{"secret", "32 bytes"}},
		{"countries XX", "countries US XX", 2, []string{"countries", "XX"}},
		{"countries lowercase", "countries us", 2, []string{"countries", "us"}},
		{"allow not E.164", "allow 12345", 2, []string{"allow", "12345"}},
		{"allow split number", "allow +1 201", 2, []string{"allow", "+1"}},
		{"allow with spaces", "allow \"+1 201 555 0123\"", 2, []string{"allow", "+1 201 555 0123"}},
		{"message without code", "message \"Welcome to {host}\"", 2, []string{"message", "{code}"}},
		{"unknown option", "sms log\nfrobnicate yes", 3, []string{"frobnicate"}},
		{"duplicate option", "code_ttl 5m\ncode_ttl 6m", 3, []string{"code_ttl", "already specified"}},
		{"duplicate sms", "sms log\nsms log", 3, []string{"sms", "already specified"}},
		{"missing argument", "code_ttl", 2, []string{"code_ttl"}},
		{"missing argument, string", "issuer", 2, []string{"issuer"}},
		{"missing argument, allow", "allow", 2, []string{"allow"}},
		{"missing argument, countries", "countries", 2, []string{"countries"}},
		{"missing argument, lang", "lang", 2, []string{"lang"}},
		{"bad lang", "lang de x_y!", 2, []string{"lang", "x_y!"}},
		{"duplicate lang", "lang de\nlang en", 3, []string{"lang", "already specified"}},
		{"missing argument, template_dir", "template_dir", 2, []string{"template_dir"}},
		{"missing provider", "sms", 2, []string{"sms"}},
		{"extra argument", "code_ttl 5m 6m", 2, []string{"code_ttl"}},
		{"extra argument, int", "code_length 6 7", 2, []string{"code_length"}},
		{"extra argument, string", "issuer a b", 2, []string{"issuer"}},
		{"prefix without slash", "prefix no-slash", 2, []string{"prefix", "no-slash"}},
		{"prefix root", "prefix /", 2, []string{"prefix"}},
		{"prefix trailing slash", "prefix /otp/", 2, []string{"prefix"}},
		{"unknown provider", "sms nosuchprovider", 2, []string{"sms", "nosuchprovider"}},
		{"unknown store", "store nosuchstore", 2, []string{"store", "nosuchstore"}},
		{"bad header name", "header \"bad header\"", 2, []string{"header", "bad header"}},
		{"bad cookie name", "cookie_name \"a;b\"", 2, []string{"cookie_name"}},
		{"bad cookie domain", "cookie_domain \"a b\"", 2, []string{"cookie_domain"}},
		{"bad cookie_secure", "sms log\ncookie_secure yes", 3, []string{"cookie_secure", "yes", "auto", "always"}},
		{"empty cookie_secure", "cookie_secure \"\"", 2, []string{"cookie_secure"}},
		{"missing argument, cookie_secure", "cookie_secure", 2, []string{"cookie_secure"}},
		{"extra argument, cookie_secure", "cookie_secure always auto", 2, []string{"cookie_secure"}},
		{"empty issuer", "issuer \"\"", 2, []string{"issuer"}},
		{"bad realm", "realm \"a:b\"", 2, []string{"realm", "a:b"}},
		{"empty realm", "realm \"\"", 2, []string{"realm"}},
		{"duplicate realm", "realm a\nrealm b", 3, []string{"realm", "already specified"}},
		{"bad provider option", "sms dexatel {\n\tbogus x\n}", 3, []string{"sms", "bogus"}},
		{"bad redis address", "store redis {\n\taddress localhost\n}", 3, []string{"store", "address", "localhost"}},
		{"redis db on a cluster", "store redis a:1 b:1 {\n\tdb 2\n}", 4, []string{"store", "only database 0"}},
		{"duplicate redis option", "store redis {\n\ttimeout 1s\n\ttimeout 2s\n}", 4, []string{"timeout", "already specified"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := "phone_otp {\n" + tt.body + "\n}"
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
			if err == nil {
				t.Fatalf("no error for\n%s", input)
			}
			msg := err.Error()
			for _, w := range append(tt.want, fmt.Sprintf("Testfile:%d", tt.line)) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			// The error names one place, the right one.
			if n := strings.Count(msg, "Testfile:"); n != 1 {
				t.Errorf("error %q names %d places", msg, n)
			}
		})
	}
}

func TestUnmarshalCaddyfileRejectsDirectiveArgs(t *testing.T) {
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("phone_otp extra {\n\tsms log\n}"))
	if err == nil || !strings.Contains(err.Error(), "Testfile:1") {
		t.Fatalf("err = %v, want an argument error at Testfile:1", err)
	}
}

// testContext is a Caddy context with no config, for Provision tests.
func testContext(t *testing.T) caddy.Context {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return ctx
}

// provisionJSON provisions a Handler from its JSON config.
func provisionJSON(t *testing.T, cfg string) (*Handler, error) {
	t.Helper()
	h := new(Handler)
	if err := json.Unmarshal([]byte(cfg), h); err != nil {
		t.Fatalf("bad test config %s: %v", cfg, err)
	}
	return h, h.Provision(testContext(t))
}

const longSecret = "0123456789abcdef0123456789abcdef" // 32 bytes

func TestProvisionDexatelAcceptsItsCodeLengths(t *testing.T) {
	for _, n := range []int{4, 8} {
		_, err := provisionJSON(t, fmt.Sprintf(`{"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"secret":%q,"code_length":%d}`, longSecret, n))
		if err != nil {
			t.Errorf("code_length %d: %v", n, err)
		}
	}
}

func TestProvisionSecretFromEnv(t *testing.T) {
	t.Run("long enough", func(t *testing.T) {
		t.Setenv("OTP_SECRET", longSecret+"-from-env")
		h, err := provisionJSON(t, `{"sms":{"provider":"log"},"secret":"{env.OTP_SECRET}"}`)
		if err != nil {
			t.Fatal(err)
		}
		if string(h.keys.Session) != longSecret+"-from-env" {
			t.Errorf("session key = %q, want the env value", h.keys.Session)
		}
	})
	t.Run("too short", func(t *testing.T) {
		t.Setenv("OTP_SECRET", "short-env-secret")
		_, err := provisionJSON(t, `{"sms":{"provider":"log"},"secret":"{env.OTP_SECRET}"}`)
		if err == nil || !strings.Contains(err.Error(), "secret") {
			t.Fatalf("err = %v, want a secret error", err)
		}
	})
}

func TestProvisionCountriesSetRegion(t *testing.T) {
	h, err := provisionJSON(t, `{"sms":{"provider":"log"},"secret":"`+longSecret+`","countries":["GB","US"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if h.region != "GB" {
		t.Errorf("region = %q, want the first country, GB", h.region)
	}
}

func TestProvisionSecretPlaceholderUnset(t *testing.T) {
	t.Setenv("OTP_SECRET_UNSET_FOR_TEST", "")
	h := &Handler{SMSRaw: []byte(`{"provider":"log"}`), Secret: "{env.OTP_SECRET_UNSET_FOR_TEST}"}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	err := h.Provision(ctx)
	if err == nil || !strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Provision with an unset secret variable: %v, want an error naming secret", err)
	}
}
