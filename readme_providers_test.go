package caddyotp

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// builtinProviders are the providers that ship with phone_otp.
var builtinProviders = []string{"log", "dexatel", "twilio", "twilio_verify", "vonage", "aws_sns", "telnyx", "plivo", "sinch", "infobip", "messagebird", "webhook", "failover"}

// TestReadmeProviderExamples adapts every `sms <provider>` example in the
// README's Providers section and in docs/providers.md, inside a site, so
// the documented Caddyfiles are ones Caddy accepts. docs/providers.md has
// a complete example of every built-in provider; the README lists every
// one in its table, in one row each.
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
			seen := testProviderExamples(t, section)
			if doc == "README.md" {
				testProviderTable(t, section)
				return
			}
			for _, name := range builtinProviders {
				if !seen[name] {
					t.Errorf("%s has no example for sms %s", doc, name)
				}
			}
		})
	}
}

// testProviderExamples adapts each `sms <provider>` example in section and
// returns the providers it saw.
func testProviderExamples(t *testing.T, section string) map[string]bool {
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
	return seen
}

// testProviderTable wants one table in section with one row per built-in
// provider, each with the four columns and a link to its details.
func testProviderTable(t *testing.T, section string) {
	rows := regexp.MustCompile("(?m)^\\| \\[`([a-z_]+)`\\]\\(docs/providers\\.md#([a-z0-9_-]+)\\) \\|(.*)\\|$").FindAllStringSubmatch(section, -1)
	got := map[string]int{}
	docs, err := os.ReadFile("docs/providers.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		got[r[1]]++
		if cells := strings.Split(r[3], "|"); len(cells) != 3 {
			t.Errorf("row %s has %d columns, want 4", r[1], len(cells)+1)
		}
		if !strings.Contains(string(docs), "\n## `"+r[1]+"` — ") || !strings.HasPrefix(r[2], r[1]+"--") {
			t.Errorf("row %s links to #%s, not to its section in docs/providers.md", r[1], r[2])
		}
	}
	for _, name := range builtinProviders {
		if got[name] != 1 {
			t.Errorf("README's provider table lists %s %d times, want once", name, got[name])
		}
	}
	if len(got) != len(builtinProviders) {
		t.Errorf("README's provider table lists %d providers, want %d", len(got), len(builtinProviders))
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
