package ui

import (
	"html/template"
	"testing"
	"time"
)

func TestNewPage(t *testing.T) {
	de := Texts{lang: "de", t: shippedTexts["de"]}
	p := NewPage(de, "verify", "verify.title")
	if p.Page != "verify" || p.Lang != "de" || p.Title != "Code eingeben" || p.Texts().Lang() != "de" {
		t.Errorf("NewPage = %+v", p)
	}
	if got := p.Duration(2 * time.Minute); got != "2 Minuten" {
		t.Errorf("Duration = %q", got)
	}
	if got := p.Count("attempts", 1); got != "1 Versuch" {
		t.Errorf("Count = %q", got)
	}
}

// TestPageT: T fills a text's placeholders, escaping the text and plain
// values, and keeping what Strong made.
func TestPageT(t *testing.T) {
	site := map[string]string{
		"verify.sent": "Code <for> {phone}, {digits} digits",
		"plain":       "a & b",
	}
	p := NewPage(Texts{lang: "en", t: site}, "verify", "plain")
	for _, tc := range []struct {
		key  string
		args []any
		want template.HTML
	}{
		{"verify.sent", []any{"phone", "<script>", "digits", 6}, "Code &lt;for&gt; &lt;script&gt;, 6 digits"},
		{"verify.sent", []any{"phone", p.Strong("+1******0123"), "digits", 6}, "Code &lt;for&gt; <strong>+1******0123</strong>, 6 digits"},
		{"verify.sent", []any{"phone", p.Strong("<i>")}, "Code &lt;for&gt; <strong>&lt;i&gt;</strong>, {digits} digits"},
		{"plain", nil, "a &amp; b"},
		{"plain", []any{"odd"}, "a &amp; b"}, // a name without a value is ignored
	} {
		if got := p.T(tc.key, tc.args...); got != tc.want {
			t.Errorf("T(%q, %v) = %q, want %q", tc.key, tc.args, got, tc.want)
		}
	}
}

func TestDirection(t *testing.T) {
	for lang, want := range map[string]string{"ar": "rtl", "ar-EG": "rtl", "he": "rtl", "en": "ltr", "ja": "ltr", "fr-CA": "ltr"} {
		if got := Direction(lang); got != want {
			t.Errorf("Direction(%q) = %q, want %q", lang, got, want)
		}
	}
}
