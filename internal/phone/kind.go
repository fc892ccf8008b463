package phone

import "github.com/nyaruka/phonenumbers"

// The number types the SMS-pumping guard can withhold (see
// internal/flow/pumping.go), named as the options spell them. Each is a
// nyaruka/phonenumbers PhoneNumberType.
var typeNames = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE:           "fixed_line",
	phonenumbers.MOBILE:               "mobile",
	phonenumbers.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
	phonenumbers.TOLL_FREE:            "toll_free",
	phonenumbers.PREMIUM_RATE:         "premium_rate",
	phonenumbers.SHARED_COST:          "shared_cost",
	phonenumbers.VOIP:                 "voip",
	phonenumbers.PERSONAL_NUMBER:      "personal_number",
	phonenumbers.PAGER:                "pager",
	phonenumbers.UAN:                  "uan",
	phonenumbers.VOICEMAIL:            "voicemail",
}

// Withholdable are the type names withhold_types accepts: every type but
// the ones a visitor's own phone is (mobile, fixed line or either).
var Withholdable = []string{"premium_rate", "shared_cost", "toll_free", "uan", "pager", "voicemail", "personal_number", "voip"}

// Type names the kind of line e164 is ("mobile", "premium_rate", ...);
// "unknown" when the numbering plan does not say.
func Type(e164 string) string { return lookup(e164).kind }

// Region returns the ISO 3166 alpha-2 country of an E.164 number, or ""
// when no single country issues it.
func Region(e164 string) string { return regionOf(e164) }

// Listed reports whether e164 is on the allowlist (allow, allow_file):
// such a number is the site's own choice, and no guard holds it back.
func (p Policy) Listed(e164 string) bool {
	if p.Allow == nil {
		return false
	}
	_, ok := p.Allow[e164]
	return ok
}
