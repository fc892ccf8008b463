package caddyotp

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// catalog is the texts one handler speaks: the shipped tables with the
// site's own (template_dir/texts.<lang>.json) laid over them, the
// languages offered, and how a request picks one.
type catalog struct {
	langs     []string // offered, the default first
	matcher   language.Matcher
	tables    map[string]map[string]string
	countries map[string][]countryOption // per offered language
}

// english speaks the shipped English texts: the JSON API's messages, and
// the fallback for any key a table lacks.
var english = texts{lang: "en", t: shippedTexts["en"]}

// maxAcceptLanguage bounds the header we parse; real ones are short.
const maxAcceptLanguage = 512

// newCatalog builds the catalog. offer is the `lang` option (empty: every
// language there are texts for, English first); site holds the site's
// tables by language; countries is the `countries` option.
func newCatalog(offer []string, site map[string]map[string]string, countries []string) (*catalog, error) {
	c := &catalog{tables: map[string]map[string]string{}}
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
			return nil, fmt.Errorf("lang: there are no texts for %q; shipped: en, de; add a language with texts.%s.json in template_dir", lang, lang)
		}
		offer[i], tags[i] = tag.String(), tag
	}
	c.langs, c.matcher = offer, language.NewMatcher(tags)
	c.countries = map[string][]countryOption{}
	for _, lang := range offer {
		c.countries[lang] = countryOptions(language.Make(lang), c.texts(lang), countries)
	}
	return c, nil
}

// texts speaks one language of the catalog.
func (c *catalog) texts(lang string) texts {
	return texts{lang: lang, t: c.tables[lang]}
}

// negotiate picks the page language for r from its Accept-Language (the
// default when only one is offered, or nothing matches), and the country
// its first language points to ("" if none: "de" points to DE, "en-GB" to
// GB, "en" to US).
func (c *catalog) negotiate(r *http.Request) (texts, string) {
	accept := r.Header.Get("Accept-Language")
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
	return c.texts(lang), region
}

// texts is one language's table, with English behind it.
type texts struct {
	lang string
	t    map[string]string
}

func (x texts) get(key string) string {
	if s, ok := x.t[key]; ok {
		return s
	}
	if s, ok := english.t[key]; ok {
		return s
	}
	return key
}

// fill is the text for key with {name} replaced: args are name, value
// pairs, replaced in one pass so a value is never read as a placeholder.
func (x texts) fill(key string, args ...string) string {
	return fillPlaceholders(x.get(key), args...)
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

// count is key.one for 1 and key.other for any other n, with {n} filled.
func (x texts) count(key string, n int) string {
	form := ".other"
	if n == 1 {
		form = ".one"
	}
	return x.fill(key+form, "n", strconv.Itoa(n))
}

// duration says d in whole seconds, minutes or hours, rounded up, so that
// a visitor told "try again in 14 minutes" is never early.
func (x texts) duration(d time.Duration) string {
	if d < time.Minute {
		return x.count("seconds", max(1, int(math.Ceil(d.Seconds()))))
	}
	switch m := int(math.Ceil(d.Minutes())); {
	case m%60 == 0:
		return x.count("hours", m/60)
	case m < 120:
		return x.count("minutes", m)
	}
	return x.count("hours", int(math.Ceil(d.Hours())))
}

// refusal is the sentence a visitor reads for r.
func (x texts) refusal(r *refusal) string {
	key := "err." + outcomeTable[r.kind].code
	switch r.kind {
	case kindRateLimited, kindBlocked:
		return x.fill(key, "duration", x.duration(r.retryAfter))
	case kindInvalidCode:
		return x.fill(key, "attempts", x.count("attempts", r.attemptsLeft))
	}
	return x.get(key)
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
		en, ok := english.t[k]
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

// checkLang checks a `lang` value's syntax; whether there are texts for it
// is known only at Provision, once template_dir is read.
func checkLang(l string) error {
	if _, err := language.Parse(l); err != nil {
		return fmt.Errorf("%q is not a language tag such as en or de", l)
	}
	return nil
}
