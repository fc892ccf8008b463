package caddyotp

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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

// TestTemplateDirProvision: a template_dir that cannot be read is a config
// error naming the option (the ui package's tests go through the others).
func TestTemplateDirProvision(t *testing.T) {
	if _, err := provisionJSON(t, dirCfg("/nonexistent/otp-pages", "")); err == nil || !strings.Contains(err.Error(), "template_dir") {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := provisionJSON(t, dirCfg(t.TempDir(), `,"lang":["sv"]`)); err == nil || !strings.Contains(err.Error(), "texts.sv.json") {
		t.Errorf("lang without texts: %v", err)
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
		"texts.sv.json": `{"phone.title": "Verifiera din telefon", "err.invalid_phone": "Numret verkar inte stämma.", "country.FR": "Republiken Frankrike"}`,
		"texts.de.json": `{"logout.signed_out": "Sie sind abgemeldet."}`,
		"README.txt":    "other files are left alone",
	})
	c := newClock()
	h, _ := newPageHandler(t, dirCfg(dir, `,"countries":["FR","DE"]`), c)

	w := newVisitor(t, h, "sv-SE,sv;q=0.9").do("GET", "/_otp/", nil)
	wantIn(t, w, 200, "ACME Verifiera din telefon", "Republiken Frankrike")
	if !strings.Contains(w.Body.String(), `<html lang="sv" dir="ltr">`) || !strings.Contains(w.Body.String(), `<option value="FR" selected>`) {
		t.Errorf("Swedish page: %s", w.Body)
	}
	// Keys the site did not translate fall back to English; the built-in
	// layout wraps the site's page.
	v := newVisitor(t, h, "sv")
	v.do("GET", "/_otp/", nil)
	w = v.do("POST", "/_otp/send", url.Values{"country": {"FR"}, "phone": {"12"}})
	wantIn(t, w, 400, "Numret verkar inte stämma.")
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
