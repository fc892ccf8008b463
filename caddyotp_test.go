package caddyotp

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHandlerPhonePolicy(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("# nobody yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(list, []byte("+4915123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	h := Handler{AllowFile: empty}
	p, err := h.phonePolicy()
	if err != nil {
		t.Fatal(err)
	}
	if p.Permits("+12015550123") {
		t.Error("an empty allow_file admits a phone")
	}

	h = Handler{Allow: []string{"+12015550123"}, AllowFile: list, Countries: []string{"US", "DE"}}
	p, err = h.phonePolicy()
	if err != nil {
		t.Fatal(err)
	}
	for phone, want := range map[string]bool{"+12015550123": true, "+4915123456789": true, "+447400123456": false, "+12015550124": false} {
		if got := p.Permits(phone); got != want {
			t.Errorf("permits(%s) = %v, want %v", phone, got, want)
		}
	}
	if len(h.Allow) != 1 {
		t.Errorf("phonePolicy changed h.Allow to %v", h.Allow)
	}
}
