package ui

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

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
		for k := range table {
			if _, ok := en[k]; !ok {
				t.Errorf("%s has %q, which English lacks", lang, k)
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

// TestShippedCountedForms: every counted word has both its forms, with
// {n} in the .other one (Count fills it in).
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
