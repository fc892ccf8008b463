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
// README's Providers section inside a site, so the documented Caddyfiles
// are ones Caddy accepts.
func TestReadmeProviderExamples(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(data)
	if i := strings.Index(section, "\n## Providers\n"); i >= 0 {
		section = section[i:]
	}
	if i := strings.Index(section[1:], "\n## "); i >= 0 {
		section = section[:i+1]
	}
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
			t.Errorf("README has no example for sms %s", name)
		}
	}
}
