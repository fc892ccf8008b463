package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBuiltCaddy builds this Caddy as a newcomer would and checks that it
// carries the plugin and accepts Caddyfile.example.
func TestBuiltCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Caddy binary")
	}
	bin := builtCaddy(t)

	out, err := exec.Command(bin, "list-modules").CombinedOutput()
	if err != nil {
		t.Fatalf("list-modules: %v\n%s", err, out)
	}
	for _, mod := range []string{
		"http.handlers.phone_otp",
		"http.handlers.phone_otp.sms.log",
		"http.handlers.phone_otp.sms.dexatel",
		"http.handlers.phone_otp.sms.twilio",
		"http.handlers.phone_otp.sms.twilio_verify",
		"http.handlers.phone_otp.sms.vonage",
		"http.handlers.phone_otp.sms.webhook",
		"http.handlers.phone_otp.sms.failover",
		"http.handlers.phone_otp.sms.aws_sns",
		"http.handlers.phone_otp.sms.telnyx",
		"http.handlers.phone_otp.sms.plivo",
		"http.handlers.phone_otp.sms.sinch",
		"http.handlers.phone_otp.sms.infobip",
		"http.handlers.phone_otp.sms.messagebird",
		"http.handlers.phone_otp.store.memory",
		"http.handlers.phone_otp.store.redis",
	} {
		if !strings.Contains(string(out), mod+"\n") {
			t.Errorf("list-modules lacks %s", mod)
		}
	}

	example := filepath.Join("..", "..", "Caddyfile.example")
	out, err = exec.Command(bin, "adapt", "--config", example).CombinedOutput()
	if err != nil {
		t.Fatalf("adapt Caddyfile.example: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"handler":"phone_otp"`) {
		t.Errorf("adapted config has no phone_otp handler:\n%s", out)
	}

	// A bad option is caught at adapt time, with the file and line.
	bad := filepath.Join(t.TempDir(), "Caddyfile")
	writeFile(t, bad, "http://localhost:8080 {\n\tphone_otp {\n\t\tsms log\n\t\tcode_length 99\n\t}\n}\n")
	out, err = exec.Command(bin, "adapt", "--config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "code_length") || !strings.Contains(string(out), "Caddyfile:4") {
		t.Errorf("adapt of code_length 99: err=%v, want an error naming code_length at Caddyfile:4\n%s", err, out)
	}
}

// built is the Caddy binary the tests share: one build per test run.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// builtCaddy builds this Caddy once and returns the binary's path.
func builtCaddy(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "phone-otp-caddy-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "caddy")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
