package ui

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
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

func TestDirection(t *testing.T) {
	for lang, want := range map[string]string{"ar": "rtl", "ar-EG": "rtl", "he": "rtl", "en": "ltr", "ja": "ltr", "fr-CA": "ltr"} {
		if got := Direction(lang); got != want {
			t.Errorf("Direction(%q) = %q, want %q", lang, got, want)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func TestDurationAndRefusalTexts(t *testing.T) {
	english, de := English(), Texts{lang: "de", t: shippedTexts["de"]}
	for _, tt := range []struct {
		d      time.Duration
		en, de string
	}{
		{0, "1 second", "1 Sekunde"},
		{time.Second, "1 second", "1 Sekunde"},
		{1500 * time.Millisecond, "2 seconds", "2 Sekunden"},
		{30 * time.Second, "30 seconds", "30 Sekunden"},
		{time.Minute, "1 minute", "1 Minute"},
		{13*time.Minute + 20*time.Second, "14 minutes", "14 Minuten"},
		{time.Hour, "1 hour", "1 Stunde"},
		{75 * time.Minute, "75 minutes", "75 Minuten"},
		{2 * time.Hour, "2 hours", "2 Stunden"},
		{150 * time.Minute, "3 hours", "3 Stunden"},
	} {
		if got := english.Duration(tt.d); got != tt.en {
			t.Errorf("en %s: %q, want %q", tt.d, got, tt.en)
		}
		if got := de.Duration(tt.d); got != tt.de {
			t.Errorf("de %s: %q, want %q", tt.d, got, tt.de)
		}
	}
	for _, tt := range []struct {
		code         string
		retryAfter   time.Duration
		attemptsLeft int
		en, de       string
	}{
		{"rate_limited", 13*time.Minute + 1, 0, "Too many tries — try again in 14 minutes.", "Zu viele Versuche – versuchen Sie es in 14 Minuten erneut."},
		{"invalid_code", 0, 1, "That code isn't right. 1 attempt left.", "Dieser Code ist nicht richtig. Noch 1 Versuch."},
		{"blocked", 15 * time.Minute, 0, "Too many wrong codes. Try again in 15 minutes.", "Zu viele falsche Codes. Versuchen Sie es in 15 Minuten erneut."},
		{"sms_failed", 0, 0, "We couldn't send the text message just now. Please try again.", "Die SMS konnte gerade nicht gesendet werden. Bitte versuchen Sie es erneut."},
	} {
		if got := english.Refusal(tt.code, tt.retryAfter, tt.attemptsLeft); got != tt.en {
			t.Errorf("en: %q, want %q", got, tt.en)
		}
		if got := de.Refusal(tt.code, tt.retryAfter, tt.attemptsLeft); got != tt.de {
			t.Errorf("de: %q, want %q", got, tt.de)
		}
	}
}

func TestFillIsOnePass(t *testing.T) {
	// A value that looks like a placeholder is not filled in again.
	if got := fillPlaceholders("{a} and {b}", "a", "{b}", "b", "x"); got != "{b} and x" {
		t.Errorf("got %q", got)
	}
}
