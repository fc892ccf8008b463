package ui

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

// UI is what a handler shows people: its page templates and its texts.
type UI struct {
	pages map[string]*template.Template
	cat   *Catalog
}

// Config is what New reads: where a site's own pages and texts are, the
// `lang` and `countries` options, and, for the sample pages New renders,
// the handler's prefix and code settings.
type Config struct {
	TemplateDir string   // "": the embedded pages and shipped texts only
	Lang        []string // languages offered, the default first; empty: all there are texts for
	Countries   []string // the country selector, in this order; empty: every country, by name

	Prefix      string
	CodeLength  int
	CodeTTL     time.Duration
	MaxAttempts int
}

// New reads template_dir, parses the pages, builds the texts, and
// renders every page once with sample data in every language offered, so
// that a broken template is a config error naming its file rather than a
// visitor's error page.
func New(c Config) (*UI, error) {
	files, site, err := readTemplateDir(c.TemplateDir)
	if err != nil {
		return nil, fmt.Errorf("template_dir: %w", err)
	}
	cat, err := NewCatalog(slices.Clone(c.Lang), site, c.Countries)
	if err != nil {
		return nil, err
	}
	u := &UI{pages: map[string]*template.Template{}, cat: cat}
	for _, name := range pageNames {
		if u.pages[name], err = parsePage(name, files); err != nil {
			return nil, fmt.Errorf("template_dir: %w", err)
		}
	}
	for _, lang := range cat.langs {
		for _, name := range pageNames {
			d := samplePage(c, cat, lang, name)
			if err := u.pages[name].ExecuteTemplate(io.Discard, "layout", d); err != nil {
				return nil, fmt.Errorf("template_dir: %s page (lang %s): %w", name, lang, err)
			}
		}
	}
	return u, nil
}

// Catalog is the texts and countries u speaks.
func (u *UI) Catalog() *Catalog { return u.cat }

// Render writes page d (d.Page names it) through the layout.
func (u *UI) Render(w io.Writer, d Page) error {
	t, ok := u.pages[d.Page]
	if !ok {
		return fmt.Errorf("no page %q", d.Page)
	}
	return t.ExecuteTemplate(w, "layout", d)
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
		return nil, fmt.Errorf("%s: %w", path, err)
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

// samplePage is a page with every field set, as the template check in
// New renders it.
func samplePage(c Config, cat *Catalog, lang, name string) Page {
	tx := cat.Texts(lang)
	return Page{
		Page: name, Lang: lang, Dir: Direction(lang), Title: tx.Get("phone.title"), tx: tx,
		Site: "app.example.com", Logo: c.Prefix + "/logo", CanCall: true,
		Nonce: "sample", Prefix: c.Prefix, CSRF: "sample", Return: "/",
		Error: tx.Get("err.invalid_phone"), Notice: tx.Get("verify.resent"),
		// A few countries stand for all: the check is of the template.
		Phone: "+1 201 555 0123", Country: "US", Countries: cat.countries[lang][:min(3, len(cat.countries[lang]))],
		Masked: "+1******0123", CodeLength: c.CodeLength, ExpiresIn: c.CodeTTL,
		ResendIn: 30, AttemptsLeft: c.MaxAttempts, Blocked: true, SignedIn: true,
	}
}
