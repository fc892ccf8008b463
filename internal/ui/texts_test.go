package ui

import (
	"testing"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// The tests of texts.go and texts_*.go beyond TestShippedTextsComplete
// (catalog_test.go), which fails on any key missing in any language or
// any placeholder that differs from English.

// TestShippedLanguages: at least these are shipped, each complete (above).
func TestShippedLanguages(t *testing.T) {
	for _, lang := range []string{"en", "de", "fr", "es", "it", "pt", "nl", "pl", "tr", "ja", "ar"} {
		if _, ok := shippedTexts[lang]; !ok {
			t.Errorf("no texts for %s", lang)
		}
	}
}

// TestPluralFormsComplete: every CLDR plural form a language picks for a
// count up to 1000 is in its table, wherever it has forms beyond one and
// other, so that Polish never says "5 minuty" nor Arabic "2 دقيقة".
func TestPluralFormsComplete(t *testing.T) {
	for lang, table := range shippedTexts {
		extra := false
		for k := range table {
			extra = extra || extraPluralForm(k)
		}
		if !extra {
			continue
		}
		tag := language.Make(lang)
		for _, key := range []string{"seconds", "minutes", "hours", "attempts"} {
			for n := 0; n <= 1000; n++ {
				form := pluralForms[plural.Cardinal.MatchPlural(tag, n, 0, 0, 0, 0)]
				if _, ok := table[key+"."+form]; !ok {
					t.Errorf("%s lacks %s.%s (for %d)", lang, key, form, n)
					break
				}
			}
		}
	}
}

func TestCountPicksTheLanguagesForm(t *testing.T) {
	pl, ar := Texts{lang: "pl", t: shippedTexts["pl"]}, Texts{lang: "ar", t: shippedTexts["ar"]}
	for _, tt := range []struct {
		x    Texts
		n    int
		want string
	}{
		{pl, 1, "1 minutę"}, {pl, 2, "2 minuty"}, {pl, 5, "5 minut"}, {pl, 12, "12 minut"}, {pl, 22, "22 minuty"},
		{ar, 1, "دقيقة واحدة"}, {ar, 2, "دقيقتين"}, {ar, 3, "3 دقائق"}, {ar, 11, "11 دقيقة"}, {ar, 100, "100 دقيقة"},
		{English(), 2, "2 minutes"},
	} {
		if got := tt.x.Count("minutes", tt.n); got != tt.want {
			t.Errorf("%s %d: %q, want %q", tt.x.lang, tt.n, got, tt.want)
		}
	}
}

func TestIsolateInRightToLeftPagesOnly(t *testing.T) {
	ar := NewPage(Texts{lang: "ar", t: shippedTexts["ar"]}, "verify", "verify.title")
	if got := ar.Isolate("+1******0123"); got != "\u2066+1******0123\u2069" {
		t.Errorf("ar: %q", got)
	}
	if got := NewPage(English(), "verify", "verify.title").Isolate("+1******0123"); got != "+1******0123" {
		t.Errorf("en: %q", got)
	}
}
