package caddyotp

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestReadmeProviderExamples adapts every `sms <provider>` example in the
// README's Providers section, and in docs/providers.md which repeats them
// beside each provider's details, inside a site, so the documented
// Caddyfiles are ones Caddy accepts.
func TestReadmeProviderExamples(t *testing.T) {
	for _, doc := range []string{"README.md", "docs/providers.md"} {
		t.Run(doc, func(t *testing.T) {
			data, err := os.ReadFile(doc)
			if err != nil {
				t.Fatal(err)
			}
			section := string(data)
			if i := strings.Index(section, "\n## Providers\n"); i >= 0 {
				section = section[i:]
			}
			if i := strings.Index(section[1:], "\n## "); i >= 0 && doc == "README.md" {
				section = section[:i+1]
			}
			testProviderExamples(t, doc, section)
		})
	}
}

// testProviderExamples adapts each `sms <provider>` example in section and
// wants one for every built-in provider.
func testProviderExamples(t *testing.T, doc, section string) {
	blocks := regexp.MustCompile("(?s)```caddyfile\n(sms ([a-z_]+).*?)```").FindAllStringSubmatch(section, -1)
	seen := map[string]bool{}
	for _, b := range blocks {
		name := b[2]
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			cf := ":8080 {\n\tphone_otp {\n" + b[1] + "\n\t}\n}\n"
			out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
			if err != nil {
				t.Fatalf("adapt:\n%s\n%v", cf, err)
			}
			if !json.Valid(out) || !strings.Contains(string(out), `"provider":"`+name+`"`) {
				t.Errorf("adapted config lacks provider %s:\n%s", name, out)
			}
		})
	}
	for _, name := range []string{"log", "dexatel", "twilio", "twilio_verify", "vonage", "webhook", "failover"} {
		if !seen[name] {
			t.Errorf("%s has no example for sms %s", doc, name)
		}
	}
}

// TestReadmeSecondFactorExample adapts the README's "password + SMS"
// example: basic_auth first, then phone_otp with users_file.
func TestReadmeSecondFactorExample(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## As a second factor")
	if !ok {
		t.Fatal("README has no \"As a second factor\" section")
	}
	m := regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindStringSubmatch(section)
	if m == nil {
		t.Fatal("the section has no Caddyfile example")
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(m[1]), nil)
	if err != nil {
		t.Fatalf("adapt:\n%s\n%v", m[1], err)
	}
	js := string(out)
	auth, otp := strings.Index(js, `"handler":"authentication"`), strings.Index(js, `"handler":"phone_otp"`)
	if auth < 0 || otp < auth || !strings.Contains(js, `"users_file":"/etc/caddy/otp-users.txt"`) {
		t.Errorf("want basic_auth, then phone_otp with users_file:\n%s", js)
	}
}
