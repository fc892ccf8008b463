package caddyotp

import (
	"encoding/json"
	"net/url"
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

func dirCfg(dir string, extra string) string {
	d, _ := json.Marshal(dir)
	return `{"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"secret":"` + longSecret + `","template_dir":` + string(d) + extra + `}`
}

func TestTemplateDirErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		extra string
		want  []string
	}{
		{"parse error", map[string]string{"phone.html": `{{define "content"}}{{.Phone}{{end}}`}, "", []string{"template_dir", "phone.html:1"}},
		{"unknown field", map[string]string{"verify.html": `{{define "content"}}{{.Nope}}{{end}}`}, "", []string{"template_dir", "verify.html", "Nope"}},
		{"no content", map[string]string{"message.html": `{{define "other"}}x{{end}}`}, "", []string{"template_dir", "message page", "content"}},
		{"broken layout", map[string]string{"layout.html": `{{define "layout"}}{{template "content" .}}{{.Missing}}{{end}}`}, "", []string{"layout.html", "Missing"}},
		{"unknown page file", map[string]string{"verfiy.html": `x`}, "", []string{"verfiy.html", "not a page"}},
		{"texts not JSON", map[string]string{"texts.fr.json": `{"phone.title": 3}`}, "", []string{"texts.fr.json"}},
		{"unknown text key", map[string]string{"texts.fr.json": `{"phone.titel": "x"}`}, "", []string{"texts.fr.json", "phone.titel"}},
		{"misspelt placeholder", map[string]string{"texts.fr.json": `{"verify.sent": "Code à {phnoe}"}`}, "", []string{"texts.fr.json", "{phnoe}"}},
		{"bad country key", map[string]string{"texts.fr.json": `{"country.XX": "x"}`}, "", []string{"country.XX"}},
		{"bad language", map[string]string{"texts.123.json": `{}`}, "", []string{"texts.123.json", "language"}},
		{"lang without texts", nil, `,"lang":["fr"]`, []string{"lang", `"fr"`, "texts.fr.json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := provisionJSON(t, dirCfg(siteDir(t, tt.files), tt.extra))
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
	if _, err := provisionJSON(t, dirCfg("/nonexistent/otp-pages", "")); err == nil || !strings.Contains(err.Error(), "template_dir") {
		t.Errorf("missing directory: %v", err)
	}
}

func TestTemplateDirReplacesPagesAndTexts(t *testing.T) {
	dir := siteDir(t, map[string]string{
		// A page of the site's own, using the data and texts it gets.
		"phone.html": `{{define "content"}}<h1>ACME {{.T "phone.title"}}</h1>
<form method="post" action="{{.Prefix}}/send"><input type="hidden" name="csrf" value="{{.CSRF}}">
<select name="country">{{range .Countries}}<option value="{{.Code}}"{{if eq .Code $.Country}} selected{{end}}>{{.Name}}</option>{{end}}</select>
<input name="phone" value="{{.Phone}}">{{if .Error}}<b id="err">{{.Error}}</b>{{end}}</form>{{end}}`,
		// A whole new language, and a rewording of a German text.
		"texts.fr.json": `{"phone.title": "Vérifiez votre téléphone", "err.invalid_phone": "Ce numéro semble incorrect.", "country.FR": "La France"}`,
		"texts.de.json": `{"logout.signed_out": "Sie sind abgemeldet."}`,
		"README.txt":    "other files are left alone",
	})
	c := newClock()
	h, _ := newPageHandler(t, dirCfg(dir, `,"countries":["FR","DE"]`), c)

	w := newVisitor(t, h, "fr-FR,fr;q=0.9").do("GET", "/_otp/", nil)
	wantIn(t, w, 200, "ACME Vérifiez votre téléphone", "La France")
	if !strings.Contains(w.Body.String(), `<html lang="fr">`) || !strings.Contains(w.Body.String(), `<option value="FR" selected>`) {
		t.Errorf("French page: %s", w.Body)
	}
	// Keys the site did not translate fall back to English; the built-in
	// layout wraps the site's page.
	v := newVisitor(t, h, "fr")
	v.do("GET", "/_otp/", nil)
	w = v.do("POST", "/_otp/send", url.Values{"country": {"FR"}, "phone": {"12"}})
	wantIn(t, w, 400, "Ce numéro semble incorrect.")
	w = v.do("GET", "/_otp/logout", nil)
	wantIn(t, w, 200, "You're not signed in.")

	w = newVisitor(t, h, "de").do("GET", "/_otp/", nil)
	wantIn(t, w, 200, "ACME Telefonnummer bestätigen", "Frankreich")
	w = newVisitor(t, h, "de").do("GET", "/_otp/logout", nil)
	wantIn(t, w, 200, "Sie sind abgemeldet.", "Abmelden")
}

func TestLangOption(t *testing.T) {
	for _, tt := range []struct {
		lang   string
		accept string
		want   string
	}{
		{`["de"]`, "en-US", "Telefonnummer bestätigen"},
		{`["de","en"]`, "fr", "Telefonnummer bestätigen"},
		{`["de","en"]`, "en-GB", "Verify your phone"},
		{`["en"]`, "de", "Verify your phone"},
	} {
		h, _ := newPageHandler(t, `{"sms":{"provider":"dexatel","api_key":"k","sender":"s","template":"t"},"secret":"`+longSecret+`","lang":`+tt.lang+`}`, newClock())
		wantIn(t, newVisitor(t, h, tt.accept).do("GET", "/_otp/", nil), 200, tt.want)
	}
}
