package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// dexatel is a fake Dexatel Verify API for the CLI: POST /v1/verifications
// with {"data":{…}} and X-Dexatel-Key, answered as Dexatel does.
type dexatel struct {
	mu   sync.Mutex
	key  string
	got  []map[string]string // every accepted request's data
	seen int                 // every request
}

func (d *dexatel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen++
	w.Header().Set("Content-Type", "application/json")
	fail := func(status, code int, msg string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{
			"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05"), "path": r.URL.Path,
			"method": r.Method, "status": status, "message": msg, "code": code,
		}}})
	}
	if r.Header.Get("X-Dexatel-Key") != d.key {
		fail(401, 1001, "Invalid API key")
		return
	}
	var body struct {
		Data map[string]string `json:"data"`
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/verifications" ||
		r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
		fail(400, 1523, "bad request")
		return
	}
	d.got = append(d.got, body.Data)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
		"id": "vrf-7", "account_id": "acc-1", "message_id": "msg-7", "phone": body.Data["phone"],
		"create_date": "2026-01-01 00:00:00", "expire_date": "2026-01-01 00:05:00",
	}})
}

// TestPhoneOTPCommand runs `caddy phone-otp` as an admin would, against a
// fake Dexatel.
func TestPhoneOTPCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Caddy binary")
	}
	dir := t.TempDir()
	bin := builtCaddy(t)
	fake := &dexatel{key: "good-key"}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	caddyfile := filepath.Join(dir, "Caddyfile")
	writeFile(t, caddyfile, `{
	admin off
}
app.example.com {
	phone_otp {
		sms dexatel {
			api_key {env.CLI_TEST_DEXATEL_KEY}
			sender TestBrand
			template tpl-1
			endpoint `+srv.URL+`
		}
		issuer app
	}
	respond "ok"
}
`)
	other := filepath.Join(dir, "site.conf")
	writeFile(t, other, "http://localhost:8080 {\n\trespond ok\n}\n")

	run := func(env string, args ...string) (stdout, stderr string, err error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(cmd.Environ(), "CLI_TEST_DEXATEL_KEY="+env)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		return o.String(), e.String(), err
	}

	t.Run("secret", func(t *testing.T) {
		var prev []byte
		for range 2 {
			out, _, err := run("", "phone-otp", "secret")
			if err != nil {
				t.Fatal(err)
			}
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
			if err != nil || len(b) != 48 {
				t.Fatalf("secret %q: %d bytes, %v; want 48 bytes of base64", out, len(b), err)
			}
			if bytes.Equal(b, prev) {
				t.Error("two secrets are the same")
			}
			prev = b
		}
	})

	tests := []struct {
		name    string
		key     string
		args    []string
		ok      bool
		stdout  []string // each must appear
		errText string   // in stdout or stderr
		sent    int      // requests Dexatel accepted
	}{
		{
			name: "good credentials", key: "good-key",
			args: []string{"--config", "Caddyfile", "--phone", "+1 (201) 555-0123"},
			ok:   true, sent: 1,
			stdout: []string{"issuer app", "site app.example.com", "dexatel accepted", "+1******0123", `id "msg-7"`},
		},
		{
			name: "the adapter named, one issuer chosen", key: "good-key",
			args: []string{"--config", "Caddyfile", "--adapter", "caddyfile", "--issuer", "app", "--phone", "+12015550123"},
			ok:   true, sent: 1, stdout: []string{`id "msg-7"`},
		},
		{
			name: "wrong API key", key: "bad-key",
			args:   []string{"--config", "Caddyfile", "--phone", "+12015550123"},
			stdout: []string{"dexatel refused", "HTTP 401", "1001", "Invalid API key"},
		},
		{
			name: "no such issuer", key: "good-key",
			args:    []string{"--config", "Caddyfile", "--issuer", "nope", "--phone", "+12015550123"},
			errText: `no phone_otp handler with issuer`,
		},
		{
			name: "no phone_otp in the config", key: "good-key",
			args:    []string{"--config", "site.conf", "--adapter", "caddyfile", "--phone", "+12015550123"},
			errText: "no phone_otp handler",
		},
		{
			name: "not a phone number", key: "good-key",
			args:    []string{"--config", "Caddyfile", "--phone", "+1 201 555"},
			errText: "--phone: not a valid phone number",
		},
		{
			name: "no phone", key: "good-key",
			args:    []string{"--config", "Caddyfile"},
			errText: "--phone is required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.mu.Lock()
			fake.got, fake.seen = nil, 0
			fake.mu.Unlock()
			stdout, stderr, err := run(tt.key, append([]string{"phone-otp", "send"}, tt.args...)...)
			if (err == nil) != tt.ok {
				t.Errorf("exit error %v, want success %v\nstdout: %s\nstderr: %s", err, tt.ok, stdout, stderr)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if tt.errText != "" && !strings.Contains(stdout+stderr, tt.errText) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tt.errText, stdout, stderr)
			}

			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.got) != tt.sent {
				t.Fatalf("Dexatel accepted %d requests, want %d", len(fake.got), tt.sent)
			}
			for _, d := range fake.got {
				if d["phone"] != "12015550123" || d["sender"] != "TestBrand" || d["template"] != "tpl-1" || d["channel"] != "SMS" {
					t.Errorf("Dexatel got %v", d)
				}
				if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(d["code"]) {
					t.Errorf("Dexatel got code %q, want 6 digits", d["code"])
				}
				// The test code is valid for nothing, but still not shown.
				if strings.Contains(stdout+stderr, d["code"]) {
					t.Errorf("the output shows the code:\n%s%s", stdout, stderr)
				}
			}
			if strings.Contains(stdout+stderr, "2015550123") || strings.Contains(stdout+stderr, "good-key") {
				t.Errorf("the output shows the whole phone or the API key:\n%s%s", stdout, stderr)
			}
		})
	}
}
