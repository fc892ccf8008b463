package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuiltCaddy builds this Caddy as a newcomer would and checks that it
// carries the plugin and accepts Caddyfile.example.
func TestBuiltCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Caddy binary")
	}
	bin := filepath.Join(t.TempDir(), "caddy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

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

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
