package caddyotp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestCaddyfileAdapt adapts each testdata/adapt/*.txt, a Caddyfile then a
// line "----------" then the JSON it must become, as Caddy's own
// caddyfile_adapt tests do.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "adapt", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no adapt test files")
	}
	newlines := regexp.MustCompile(`\r?\n`)
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			caddyfileText, expected, ok := strings.Cut(newlines.ReplaceAllString(string(data), "\n"), "\n----------\n")
			if !ok {
				t.Fatalf("%s: no ---------- line between the Caddyfile and the JSON", name)
			}
			caddyfileText = strings.TrimSpace(caddyfileText) + "\n"
			expected = strings.TrimSpace(expected)
			if !caddytest.CompareAdapt(t, name, caddyfileText, "caddyfile", expected) {
				t.Errorf("%s: adapted JSON differs from the expected (diff above)", name)
			}
		})
	}
}

// TestCaddyfileMessageHost follows a message from the Caddyfile to the SMS
// text: the adapter turns the {host} shorthand into {http.request.host},
// which must still become the site's host.
func TestCaddyfileMessageHost(t *testing.T) {
	cf := `:8080 {
	phone_otp {
		sms log
		secret ` + longSecret + `
		code_ttl 3m
		message "{code} is your {host} code, valid {minutes} min."
	}
}
`
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []json.RawMessage `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	routes := cfg.Apps.HTTP.Servers["srv0"].Routes
	if len(routes) != 1 || len(routes[0].Handle) != 1 {
		t.Fatalf("unexpected config %s", out)
	}
	h, err := provisionJSON(t, string(routes[0].Handle[0]))
	if err != nil {
		t.Fatal(err)
	}
	want := "123456 is your example.com code, valid 3 min.\n\n@example.com #123456"
	if got := h.renderMessage("123456", "example.com"); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}
