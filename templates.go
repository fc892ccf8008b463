package caddyotp

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// pageNames are the pages phone_otp shows, each <name>.html defining
// "content"; layout.html defines "layout", which every page is rendered
// through. A site replaces any of them with a file of the same name in
// template_dir.
var pageNames = []string{"phone", "verify", "logout", "message"}

//go:embed pages/*.html
var pageFS embed.FS

// ui is what a handler shows people: its page templates and its texts.
type ui struct {
	pages map[string]*template.Template
	cat   *catalog
}

// provisionUI reads template_dir, parses the pages, builds the texts, and
// renders every page once with sample data in every language offered, so
// that a broken template is a config error naming its file rather than a
// visitor's error page.
func (h *Handler) provisionUI() error {
	files, site, err := readTemplateDir(h.TemplateDir)
	if err != nil {
		return fmt.Errorf("template_dir: %v", err)
	}
	cat, err := newCatalog(slices.Clone(h.Lang), site, h.Countries)
	if err != nil {
		return err
	}
	u := &ui{pages: map[string]*template.Template{}, cat: cat}
	for _, name := range pageNames {
		if u.pages[name], err = parsePage(name, files); err != nil {
			return fmt.Errorf("template_dir: %v", err)
		}
	}
	for _, lang := range cat.langs {
		for _, name := range pageNames {
			d := samplePage(h, cat, lang, name)
			if err := u.pages[name].ExecuteTemplate(io.Discard, "layout", d); err != nil {
				return fmt.Errorf("template_dir: %s page (lang %s): %v", name, lang, err)
			}
		}
	}
	h.ui = u
	return nil
}

// readTemplateDir returns the site's page files (name to path) and texts
// (language to table) in dir; "" is no directory.
func readTemplateDir(dir string) (map[string]string, map[string]map[string]string, error) {
	files, site := map[string]string{}, map[string]map[string]string{}
	if dir == "" {
		return files, site, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		name, path := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(name, ".html"):
			if base := strings.TrimSuffix(name, ".html"); base != "layout" && !slices.Contains(pageNames, base) {
				return nil, nil, fmt.Errorf("%s: not a page phone_otp shows (layout.html, phone.html, verify.html, logout.html, message.html)", path)
			}
			files[name] = path
		case strings.HasPrefix(name, "texts.") && strings.HasSuffix(name, ".json"):
			lang := strings.TrimSuffix(strings.TrimPrefix(name, "texts."), ".json")
			tag, err := language.Parse(lang)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %q is not a language tag", path, lang)
			}
			t, err := readTexts(path)
			if err != nil {
				return nil, nil, err
			}
			site[tag.String()] = t
		}
	}
	return files, site, nil
}

func readTexts(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t map[string]string
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&t); err != nil || dec.More() {
		return nil, fmt.Errorf("%s: not a JSON object of strings: %v", path, err)
	}
	if err := checkSiteTexts(t); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return t, nil
}

// parsePage parses the layout and one page, each the site's file if it
// has one and the embedded one if not. Templates are named by their path,
// so that errors name the file.
func parsePage(name string, files map[string]string) (*template.Template, error) {
	t := template.New(name)
	for _, file := range []string{"layout.html", name + ".html"} {
		label, src := "pages/"+file, []byte(nil)
		var err error
		if path, ok := files[file]; ok {
			label = path
			src, err = os.ReadFile(path)
		} else {
			src, err = fs.ReadFile(pageFS, label)
		}
		if err != nil {
			return nil, err
		}
		if _, err := t.New(label).Parse(string(src)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// samplePage is a page with every field set, as the template check at
// Provision renders it.
func samplePage(h *Handler, cat *catalog, lang, name string) pageData {
	tx := cat.texts(lang)
	return pageData{
		Page: name, Lang: lang, Title: tx.get("phone.title"), tx: tx,
		Nonce: "sample", Prefix: h.Prefix, CSRF: "sample", Return: "/",
		Error: tx.get("err.invalid_phone"), Notice: tx.get("verify.resent"),
		Phone: "+1 201 555 0123", Country: "US", Countries: cat.countries[lang],
		Masked: "+1******0123", CodeLength: h.CodeLength, ExpiresIn: time.Duration(h.CodeTTL),
		ResendIn: 30, AttemptsLeft: h.MaxAttempts, Blocked: true, SignedIn: true,
	}
}
