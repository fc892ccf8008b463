package caddyotp

import (
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// countryOption is one entry of the phone page's country selector.
type countryOption struct {
	Code    string // ISO 3166 alpha-2, the value posted as `country`
	Name    string // in the page's language
	Dial    int    // the calling code: 1 for US, 49 for DE
	Example string // a mobile number as dialled at home: (201) 555-0123
}

// countryOptions lists the countries a visitor can pick: the `countries`
// option in its order, or else every country phone numbers are issued for,
// by name. Names come from the texts' country.XX keys, else from CLDR (as
// phonenumbers already links it in), else the code.
func countryOptions(tag language.Tag, tx texts, only []string) []countryOption {
	codes := only
	if len(codes) == 0 {
		codes = slices.Collect(maps.Keys(phonenumbers.GetSupportedRegions()))
	}
	namer := display.Regions(tag)
	opts := make([]countryOption, 0, len(codes))
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
		opts = append(opts, countryOption{
			Code: code, Name: name, Dial: phonenumbers.GetCountryCodeForRegion(code), Example: exampleNumber(code),
		})
	}
	if len(only) == 0 {
		slices.SortFunc(opts, func(a, b countryOption) int {
			return strings.Compare(sortKey(a.Name), sortKey(b.Name))
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

// exampleNumber is a mobile number of the country in its national format,
// as a placeholder that shows how to type one; "" if there is none.
func exampleNumber(code string) string {
	num := phonenumbers.GetExampleNumberForType(code, phonenumbers.MOBILE)
	if num == nil {
		return ""
	}
	return phonenumbers.Format(num, phonenumbers.NATIONAL)
}

// hasCountry reports whether code is among opts.
func hasCountry(opts []countryOption, code string) bool {
	return slices.ContainsFunc(opts, func(o countryOption) bool { return o.Code == code })
}
