package sms

import "strings"

// MaskPhone hides the middle of a phone number for logs and pages,
// keeping its first two characters (the '+' and the first digit of an
// E.164 number) and its last four: "+12015550123" becomes "+1******0123".
// Input too short to mask that way comes back as stars, keeping only a
// leading '+'; MaskPhone never panics.
func MaskPhone(e164 string) string {
	r := []rune(e164)
	const keepHead, keepTail = 2, 4
	// Below this length showing head and tail would reveal nearly all of
	// it; with the 7 characters of the shortest E.164 number ("+" and six
	// digits) one digit is still hidden.
	if len(r) < keepHead+keepTail+1 {
		if strings.HasPrefix(e164, "+") {
			return "+" + strings.Repeat("*", len(r)-1)
		}
		return strings.Repeat("*", len(r))
	}
	return string(r[:keepHead]) + strings.Repeat("*", len(r)-keepHead-keepTail) + string(r[len(r)-keepTail:])
}
