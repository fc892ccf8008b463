package ui

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Page is what every page template gets (docs/pages.md).
// Texts are read with {{.T "key" "name" value ...}} so a page speaks the
// visitor's language.
type Page struct {
	Page   string // "phone", "verify", "logout" or "message"
	Lang   string // the page's language (BCP 47), for <html lang>
	Dir    string // its writing direction, for <html dir>: "ltr", or "rtl" (Arabic, Hebrew, Persian, Urdu)
	Title  string
	Site   string // the site signed in to ("Sign in to {site}"): origin, or the request's host if it is the site's; "" if neither
	Logo   string // the logo's URL, on this site; "" if none
	Nonce  string // for the inline style and script, per response
	Prefix string
	CSRF   string
	Return string // where the visitor goes after verifying
	Error  string // what went wrong, in the page's language; "" if nothing
	Notice string // good news, such as a new code sent; "" if none

	// The phone page.
	Phone       string // what the visitor typed, kept on errors
	Country     string // the selected country (ISO 3166 alpha-2)
	Countries   []Country
	Placeholder string // an example number of the selected country

	// The code page, and the blocked and logout messages.
	Masked       string        // the phone, masked: +1******0123
	CodeLength   int           // digits in a code
	ExpiresIn    time.Duration // until the code expires; 0 once it has
	ResendIn     int           // seconds until a new code may be asked for
	AttemptsLeft int           // wrong codes still allowed
	CanCall      bool          // the code page offers "Call me instead"
	Blocked      bool          // the message page says the phone is blocked
	SignedIn     bool          // the logout page has a session to end

	// users_file (second factor): the phone page shows Masked and has no
	// phone field; the code page offers no other number.
	SecondFactor bool
	Remember     bool // the code page offers "trust this browser"
	Forget       bool // the logout page offers "forget this browser"

	tx Texts
}

// NewPage starts page name in tx's language, titled with the text for
// titleKey.
func NewPage(tx Texts, name, titleKey string) Page {
	return Page{Page: name, Lang: tx.lang, Dir: Direction(tx.lang), Title: tx.Get(titleKey), tx: tx}
}

// Direction is "rtl" for a language written right to left, else "ltr".
func Direction(lang string) string {
	base, _, _ := strings.Cut(lang, "-")
	switch base {
	case "ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb":
		return "rtl"
	}
	return "ltr"
}

// Texts speaks the page's language, for the handler that fills it in.
func (d Page) Texts() Texts { return d.tx }

// T is the text for key in the page's language, with {name} filled from
// name, value pairs. The text and the values are HTML-escaped, except
// values from Strong.
func (d Page) T(key string, args ...any) template.HTML {
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		v, ok := args[i+1].(template.HTML)
		if !ok {
			v = template.HTML(template.HTMLEscapeString(fmt.Sprint(args[i+1])))
		}
		pairs = append(pairs, fmt.Sprint(args[i]), string(v))
	}
	return template.HTML(fillPlaceholders(template.HTMLEscapeString(d.tx.Get(key)), pairs...))
}

// Strong is s, escaped, in <strong>, for T.
func (d Page) Strong(s string) template.HTML {
	return template.HTML("<strong>" + template.HTMLEscapeString(s) + "</strong>")
}

// Isolate is s, a phone number or other left-to-right run, kept left to
// right inside a right-to-left page's text (Unicode's LRI … PDI), so
// that "+1******0123" does not read "1******0123+" there; on any other
// page it is s. (Strong does the same with CSS.)
func (d Page) Isolate(s string) string {
	if d.Dir != "rtl" || s == "" {
		return s
	}
	return "\u2066" + s + "\u2069"
}

// Duration says d in the page's language: "5 minutes".
func (d Page) Duration(dur time.Duration) string { return d.tx.Duration(dur) }

// Count is key.one or key.other for n: Count "attempts" 2 is "2 attempts".
func (d Page) Count(key string, n int) string { return d.tx.Count(key, n) }
