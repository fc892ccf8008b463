package ui

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// The tests of texts.go and texts_*.go: every language complete, its
// placeholders as English's, its counted forms all there.

// TestShippedTextsComplete: every language has every English key with the
// same placeholders. (That every error code has its sentence is the root's
// TestEveryCodeHasText.)
func TestShippedTextsComplete(t *testing.T) {
	en := shippedTexts["en"]
	for lang, table := range shippedTexts {
		for _, k := range slices.Sorted(maps.Keys(en)) {
			v, ok := table[k]
			if !ok {
				t.Errorf("%s lacks %q", lang, k)
				continue
			}
			if got, want := placeholderRE.FindAllString(v, -1), placeholderRE.FindAllString(en[k], -1); !sameSet(got, want) {
				t.Errorf("%s %q has placeholders %v, English %v", lang, k, got, want)
			}
		}
		for k, v := range table {
			if _, ok := en[k]; ok {
				continue
			}
			if !extraPluralForm(k) {
				t.Errorf("%s has %q, which English lacks", lang, k)
				continue
			}
			// A form for one number (Arabic's "two") may say it in words.
			other := en[k[:strings.LastIndexByte(k, '.')]+".other"]
			for _, p := range placeholderRE.FindAllString(v, -1) {
				if !strings.Contains(other, p) {
					t.Errorf("%s %q has %s, which English lacks", lang, k, p)
				}
			}
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func TestShippedCountedForms(t *testing.T) {
	for lang, table := range shippedTexts {
		for k, v := range table {
			base, form, ok := strings.Cut(k, ".")
			if !ok || (form != "one" && form != "other") {
				continue
			}
			other := table[base+".other"]
			if _, ok := table[base+".one"]; !ok || other == "" {
				t.Errorf("%s: %q has no .one or no .other form", lang, base)
			}
			if !strings.Contains(other, "{n}") {
				t.Errorf("%s: %s.other %q lacks {n}", lang, base, other)
			}
			if v == "" {
				t.Errorf("%s: %q is empty", lang, k)
			}
		}
	}
}

func TestShippedLanguages(t *testing.T) {
	for _, lang := range []string{"en", "de", "fr", "es", "it", "pt", "nl", "pl", "tr", "ja", "ar"} {
		if _, ok := shippedTexts[lang]; !ok {
			t.Errorf("no texts for %s", lang)
		}
	}
}

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
