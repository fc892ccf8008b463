package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// siteDir writes files into a fresh template_dir.
func siteDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTemplateDirErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		lang  []string
		want  []string
	}{
		{"parse error", map[string]string{"phone.html": `{{define "content"}}{{.Phone}{{end}}`}, nil, []string{"template_dir", "phone.html:1"}},
		{"unknown field", map[string]string{"verify.html": `{{define "content"}}{{.Nope}}{{end}}`}, nil, []string{"template_dir", "verify.html", "Nope"}},
		{"no content", map[string]string{"message.html": `{{define "other"}}x{{end}}`}, nil, []string{"template_dir", "message page", "content"}},
		{"broken layout", map[string]string{"layout.html": `{{define "layout"}}{{template "content" .}}{{.Missing}}{{end}}`}, nil, []string{"layout.html", "Missing"}},
		{"unknown page file", map[string]string{"verfiy.html": `x`}, nil, []string{"verfiy.html", "not a page"}},
		{"texts not JSON", map[string]string{"texts.fr.json": `{"phone.title": 3}`}, nil, []string{"texts.fr.json"}},
		{"unknown text key", map[string]string{"texts.fr.json": `{"phone.titel": "x"}`}, nil, []string{"texts.fr.json", "phone.titel"}},
		{"misspelt placeholder", map[string]string{"texts.fr.json": `{"verify.sent": "Code à {phnoe}"}`}, nil, []string{"texts.fr.json", "{phnoe}"}},
		{"bad country key", map[string]string{"texts.fr.json": `{"country.XX": "x"}`}, nil, []string{"country.XX"}},
		{"bad language", map[string]string{"texts.123.json": `{}`}, nil, []string{"texts.123.json", "language"}},
		{"lang without texts", nil, []string{"sv"}, []string{"lang", `"sv"`, "texts.sv.json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{TemplateDir: siteDir(t, tt.files), Lang: tt.lang, CodeLength: 6, MaxAttempts: 5})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := New(Config{TemplateDir: "/nonexistent/otp-pages"}); err == nil || !strings.Contains(err.Error(), "template_dir") {
		t.Errorf("missing directory: %v", err)
	}
}
