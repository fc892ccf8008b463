// Package phone reads phone numbers: what a visitor types, what a
// configuration lists (allow, allow_file, users_file), and the rules on
// which numbers may receive a code. Every number leaves it in E.164 form
// ("+12015550123"), the one form the rest of phone_otp compares and stores.
package phone

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxInput bounds what Parse will look at; the longest E.164 number is 15
// digits, so anything much longer is not a phone number.
const maxInput = 32

// ErrInvalid is Parse's answer for anything that is not a valid number.
var ErrInvalid = errors.New("invalid phone number")

// Parse turns what a visitor typed into E.164 ("+12015550123").
// Only ASCII digits, a leading '+', spaces, dots, dashes and parentheses are
// accepted: phonenumbers would quietly fold other scripts' digits and
// letters (vanity numbers) into digits, which is not what a visitor means.
// region is used for numbers typed without '+'; "" requires the '+'.
func Parse(input, region string) (string, error) {
	e164, _, err := parse(input, region)
	return e164, err
}

// ParseForSend is Parse for the number a visitor asks a code for: the
// send then asks its country and type (the countries policy, the
// SMS-pumping guard, the audit line), and those come from this same
// parse, so that a send parses its number once.
func ParseForSend(input, region string) (string, error) {
	e164, num, err := parse(input, region)
	if err == nil {
		remember(e164, num)
	}
	return e164, err
}

func parse(input, region string) (string, *phonenumbers.PhoneNumber, error) {
	input = strings.TrimSpace(input)
	if input == "" || len(input) > maxInput {
		return "", nil, ErrInvalid
	}
	for i, c := range input {
		switch {
		case c >= '0' && c <= '9', c == ' ', c == '-', c == '.', c == '(', c == ')':
		case c == '+' && i == 0:
		default:
			return "", nil, ErrInvalid
		}
	}
	if input[0] != '+' && region == "" {
		return "", nil, ErrInvalid
	}
	if region == "" {
		region = "ZZ"
	}
	num, err := phonenumbers.Parse(input, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", nil, ErrInvalid
	}
	return phonenumbers.Format(num, phonenumbers.E164), num, nil
}

// ParseE164 is Parse for configuration: the number must be written in
// E.164 form already, so a typo cannot silently change its meaning.
func ParseE164(s string) (string, error) {
	e164, err := Parse(s, "")
	if err != nil || e164 != s {
		return "", fmt.Errorf("%q is not a valid phone number in E.164 form (like +12015550123)", s)
	}
	return e164, nil
}

// LooksE164 reports whether s has the shape of an E.164 number ('+' and
// 1 to 15 digits) without asking whether the number exists: cheap enough
// to sort store keys by.
func LooksE164(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, c := range []byte(s[1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// regionOf returns the ISO 3166 alpha-2 region of an E.164 number.
func regionOf(e164 string) string { return lookup(e164).region }

// CheckCountry accepts an ISO 3166 alpha-2 code, in capitals, of a region
// phone numbers are issued for.
func CheckCountry(c string) error {
	if _, ok := phonenumbers.GetSupportedRegions()[c]; !ok || c != strings.ToUpper(c) {
		return fmt.Errorf("%q is not an ISO 3166 alpha-2 country code phone numbers are issued for", c)
	}
	return nil
}

// Policy decides which numbers may receive a code. A number it rules
// out still gets the ordinary "sent" answer, so that nobody can learn from
// the answer which numbers are allowed.
type Policy struct {
	Allow     map[string]struct{} // E.164 numbers; nil: any number
	Countries map[string]struct{} // ISO 3166 alpha-2 codes; nil: any country
}

// Permits reports whether e164 may receive a code: on the allowlist, if
// there is one, and in an allowed country, if any are named. An empty,
// non-nil set admits nobody.
func (p Policy) Permits(e164 string) bool {
	if p.Allow != nil {
		if _, ok := p.Allow[e164]; !ok {
			return false
		}
	}
	if p.Countries != nil {
		if _, ok := p.Countries[regionOf(e164)]; !ok {
			return false
		}
	}
	return true
}

// ReadFile reads an allow_file: one E.164 number a line, blank lines
// and '#' comments ignored. Errors name the file and line.
func ReadFile(path string) ([]string, error) {
	var phones []string
	err := readLines(path, func(line int, text string) error {
		text = strings.TrimSpace(text)
		if text == "" {
			return nil
		}
		e164, err := ParseE164(text)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		phones = append(phones, e164)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return phones, nil
}

// ReadUsersFile reads a users_file: "username +E164" lines, blank lines
// and '#' comments skipped, into user to phone. Any other line is an error
// naming the file and line, so a typo stops `caddy run`/`caddy reload`
// instead of locking someone out.
func ReadUsersFile(path string) (map[string]string, error) {
	users := map[string]string{}
	err := readLines(path, func(line int, text string) error {
		fields := strings.Fields(text)
		switch len(fields) {
		case 0:
			return nil
		case 2:
		default:
			return fmt.Errorf("%s:%d: want \"username +E164\", got %d fields", path, line, len(fields))
		}
		name := fields[0]
		e164, err := ParseE164(fields[1])
		if err != nil {
			return fmt.Errorf("%s:%d: user %q: %w", path, line, name, err)
		}
		if _, dup := users[name]; dup {
			return fmt.Errorf("%s:%d: user %q is listed twice", path, line, name)
		}
		users[name] = e164
		return nil
	})
	if err != nil {
		return nil, err
	}
	return users, nil
}

// readLines calls fn with each line of path (numbered from 1), a '#' and
// what follows it cut off.
func readLines(path string, fn func(line int, text string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		if err := fn(line, text); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
