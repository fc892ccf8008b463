package ui

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// Country is one entry of the phone page's country selector.
type Country struct {
	Code    string // ISO 3166 alpha-2, the value posted as `country`
	Name    string // in the page's language
	Dial    int    // the calling code: 1 for US, 49 for DE
	Example string // a mobile number as dialled at home: (201) 555-0123
}

// countryOptions lists the countries a visitor can pick: the `countries`
// option in its order, or else every country phone numbers are issued for,
// by name. Names come from the texts' country.XX keys, else from CLDR (as
// phonenumbers already links it in), else the code.
func countryOptions(tag language.Tag, tx Texts, only []string) []Country {
	codes := only
	if len(codes) == 0 {
		codes = slices.Collect(maps.Keys(phonenumbers.GetSupportedRegions()))
	}
	namer := display.Regions(tag)
	opts := make([]Country, 0, len(codes))
	for _, code := range codes {
		name, ok := tx.t["country."+code]
		if !ok && namer != nil {
			if reg, err := language.ParseRegion(code); err == nil {
				name = namer.Name(reg)
			}
		}
		if name == "" {
			name = code
		}
		opts = append(opts, Country{
			Code: code, Name: name, Dial: phonenumbers.GetCountryCodeForRegion(code), Example: ExampleNumber(code),
		})
	}
	if len(only) == 0 {
		keys := make(map[string]string, len(opts))
		for _, o := range opts {
			keys[o.Code] = sortKey(o.Name)
		}
		slices.SortFunc(opts, func(a, b Country) int {
			return strings.Compare(keys[a.Code], keys[b.Code])
		})
	}
	return opts
}

// sortKey folds case and accents, so that Österreich sorts with the Os
// and not after Zypern.
func sortKey(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// ExampleNumber is a mobile number of the country in its national format,
// as a placeholder that shows how to type one; "" if there is none. It is
// made once per country (phonenumbers parses and formats it, which every
// language's country list and every phone page would otherwise repeat).
func ExampleNumber(code string) string {
	if v, ok := examples.Load(code); ok {
		return v.(string)
	}
	ex := ""
	if num := phonenumbers.GetExampleNumberForType(code, phonenumbers.MOBILE); num != nil {
		ex = phonenumbers.Format(num, phonenumbers.NATIONAL)
	}
	if phonenumbers.GetCountryCodeForRegion(code) != 0 {
		examples.Store(code, ex) // only real regions: the map stays bounded
	}
	return ex
}

var examples sync.Map // region code -> ExampleNumber

// HasCountry reports whether code is among opts.
func HasCountry(opts []Country, code string) bool {
	return slices.ContainsFunc(opts, func(o Country) bool { return o.Code == code })
}
