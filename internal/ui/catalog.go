// Package ui is what phone_otp shows people: the texts in every language
// it speaks (with a site's own laid over them), the country selector, and
// the page templates, embedded or from template_dir. It renders; the HTTP
// handlers in the root decide what to show and write the response.
package ui

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// Catalog is the texts one handler speaks: the shipped tables with the
// site's own (template_dir/texts.<lang>.json) laid over them, the
// languages offered, and how a request picks one.
type Catalog struct {
	langs     []string // offered, the default first
	matcher   language.Matcher
	tables    map[string]map[string]string
	countries map[string][]Country // per offered language
}

// English speaks the shipped English texts: the JSON API's messages, and
// the fallback for any key a table lacks.
func English() Texts { return Texts{lang: "en", t: shippedTexts["en"]} }

// maxAcceptLanguage bounds the header we parse; real ones are short.
const maxAcceptLanguage = 512

// NewCatalog builds the catalog. offer is the `lang` option (empty: every
// language there are texts for, English first); site holds the site's
// tables by language; countries is the `countries` option.
func NewCatalog(offer []string, site map[string]map[string]string, countries []string) (*Catalog, error) {
	c := &Catalog{tables: map[string]map[string]string{}}
	for lang, t := range shippedTexts {
		c.tables[lang] = t
	}
	for lang, t := range site {
		merged := map[string]string{}
		for k, v := range c.tables[lang] {
			merged[k] = v
		}
		for k, v := range t {
			merged[k] = v
		}
		c.tables[lang] = merged
	}
	if len(offer) == 0 {
		offer = []string{"en"}
		for lang := range c.tables {
			if lang != "en" {
				offer = append(offer, lang)
			}
		}
		slices.Sort(offer[1:])
	}
	tags := make([]language.Tag, len(offer))
	for i, lang := range offer {
		tag, err := language.Parse(lang)
		if err != nil {
			return nil, fmt.Errorf("lang: %q is not a language tag", lang)
		}
		if _, ok := c.tables[tag.String()]; !ok {
			return nil, fmt.Errorf("lang: there are no texts for %q; shipped: %s; add a language with texts.%s.json in template_dir", lang, strings.Join(slices.Sorted(maps.Keys(shippedTexts)), ", "), lang)
		}
		offer[i], tags[i] = tag.String(), tag
	}
	c.langs, c.matcher = offer, language.NewMatcher(tags)
	c.countries = map[string][]Country{}
	for _, lang := range offer {
		c.countries[lang] = countryOptions(language.Make(lang), c.Texts(lang), countries)
	}
	return c, nil
}

// Texts speaks one language of the catalog.
func (c *Catalog) Texts(lang string) Texts {
	return Texts{lang: lang, t: c.tables[lang]}
}

// Countries is the country selector in lang, one of Langs.
func (c *Catalog) Countries(lang string) []Country { return c.countries[lang] }

// Negotiate picks the page language from a request's Accept-Language (the
// default when only one is offered, or nothing matches), and the country
// its first language points to ("" if none: "de" points to DE, "en-GB" to
// GB, "en" to US).
func (c *Catalog) Negotiate(accept string) (Texts, string) {
	if len(accept) > maxAcceptLanguage {
		accept = ""
	}
	tags, _, _ := language.ParseAcceptLanguage(accept)
	lang := c.langs[0]
	if len(c.langs) > 1 && len(tags) > 0 {
		_, i, conf := c.matcher.Match(tags...)
		if conf != language.No {
			lang = c.langs[i]
		}
	}
	region := ""
	for _, tag := range tags {
		if reg, conf := tag.Region(); conf != language.No && reg.String() != "ZZ" {
			region = reg.String()
			break
		}
	}
	return c.Texts(lang), region
}

// Texts is one language's table, with English behind it.
type Texts struct {
	lang string
	t    map[string]string
}

// Lang is the language (BCP 47) x speaks.
func (x Texts) Lang() string { return x.lang }

// Get is the text for key: x's, else English, else the key itself.
func (x Texts) Get(key string) string {
	if s, ok := x.t[key]; ok {
		return s
	}
	if s, ok := shippedTexts["en"][key]; ok {
		return s
	}
	return key
}

// Fill is the text for key with {name} replaced: args are name, value
// pairs, replaced in one pass so a value is never read as a placeholder.
func (x Texts) Fill(key string, args ...string) string {
	return fillPlaceholders(x.Get(key), args...)
}

func fillPlaceholders(s string, args ...string) string {
	if len(args) == 0 {
		return s
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+args[i]+"}", args[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Count is the form of key for n, with {n} filled: key.<form> for n's
// CLDR plural category in x's language (zero, one, two, few, many,
// other), if x's table has it; else key.one for 1 and key.other for any
// other n, the rule of English and German.
func (x Texts) Count(key string, n int) string {
	if form, ok := pluralForms[plural.Cardinal.MatchPlural(language.Make(x.lang), n, 0, 0, 0, 0)]; ok {
		if _, has := x.t[key+"."+form]; has {
			return x.Fill(key+"."+form, "n", strconv.Itoa(n))
		}
	}
	form := ".other"
	if n == 1 {
		form = ".one"
	}
	return x.Fill(key+form, "n", strconv.Itoa(n))
}

// pluralForms names the CLDR plural categories as text key suffixes.
var pluralForms = map[plural.Form]string{
	plural.Zero: "zero", plural.One: "one", plural.Two: "two",
	plural.Few: "few", plural.Many: "many", plural.Other: "other",
}

// extraPluralForm reports whether k is a plural form English does not
// have (key.zero, .two, .few, .many) of a counted key English has.
func extraPluralForm(k string) bool {
	i := strings.LastIndexByte(k, '.')
	if i < 0 {
		return false
	}
	switch k[i+1:] {
	case "zero", "two", "few", "many":
		_, ok := shippedTexts["en"][k[:i]+".other"]
		return ok
	}
	return false
}

// Duration says d in whole seconds, minutes or hours, rounded up, so that
// a visitor told "try again in 14 minutes" is never early.
func (x Texts) Duration(d time.Duration) string {
	if d < time.Minute {
		return x.Count("seconds", max(1, int(math.Ceil(d.Seconds()))))
	}
	switch m := int(math.Ceil(d.Minutes())); {
	case m%60 == 0:
		return x.Count("hours", m/60)
	case m < 120:
		return x.Count("minutes", m)
	}
	return x.Count("hours", int(math.Ceil(d.Hours())))
}

// Refusal is the sentence a visitor reads for a refusal with error code
// code (err.<code>): {duration} says retryAfter, {attempts} counts
// attemptsLeft. Only a text with the placeholder gets it filled
// (rate_limited and blocked a duration, invalid_code the attempts), and a
// site's texts can add no placeholder English lacks (checkSiteTexts), so
// the caller need not know which code takes which.
func (x Texts) Refusal(code string, retryAfter time.Duration, attemptsLeft int) string {
	s := x.Get("err." + code)
	var args []string
	if strings.Contains(s, "{duration}") {
		args = append(args, "duration", x.Duration(retryAfter))
	}
	if strings.Contains(s, "{attempts}") {
		args = append(args, "attempts", x.Count("attempts", attemptsLeft))
	}
	return fillPlaceholders(s, args...)
}

var placeholderRE = regexp.MustCompile(`\{[a-z_]+\}`)

// checkSiteTexts checks a site's table for lang: every key one that
// English has (or country.XX), and no placeholder that English lacks, so
// a typo is a config error rather than a page with "{phnoe}" in it.
func checkSiteTexts(t map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(t)) {
		if code, ok := strings.CutPrefix(k, "country."); ok {
			if phone.CheckCountry(code) != nil {
				return fmt.Errorf("%q: %q is not a country code", k, code)
			}
			continue
		}
		en, ok := shippedTexts["en"][k]
		if !ok && extraPluralForm(k) {
			en, ok = shippedTexts["en"][k[:strings.LastIndexByte(k, '.')]+".other"], true
		}
		if !ok {
			return fmt.Errorf("%q is not a text key", k)
		}
		for _, p := range placeholderRE.FindAllString(t[k], -1) {
			if !strings.Contains(en, p) {
				return fmt.Errorf("%q: %s is not filled in for this text (the English has %q)", k, p, en)
			}
		}
	}
	return nil
}

// CheckLang checks a `lang` value's syntax; whether there are texts for it
// is known only at Provision, once template_dir is read.
func CheckLang(l string) error {
	if _, err := language.Parse(l); err != nil {
		return fmt.Errorf("%q is not a language tag such as en or de", l)
	}
	return nil
}
