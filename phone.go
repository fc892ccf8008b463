package caddyotp

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxPhoneInput bounds what parsePhone will look at; the longest E.164
// number is 15 digits, so anything much longer is not a phone number.
const maxPhoneInput = 32

var errInvalidPhone = errors.New("invalid phone number")

// parsePhone turns what a visitor typed into E.164 ("+12015550123").
// Only ASCII digits, a leading '+', spaces, dots, dashes and parentheses are
// accepted: phonenumbers would quietly fold other scripts' digits and
// letters (vanity numbers) into digits, which is not what a visitor means.
// region is used for numbers typed without '+'; "" requires the '+'.
func parsePhone(input, region string) (string, error) {
	input = strings.TrimSpace(input)
	if input == "" || len(input) > maxPhoneInput {
		return "", errInvalidPhone
	}
	for i, c := range input {
		switch {
		case c >= '0' && c <= '9', c == ' ', c == '-', c == '.', c == '(', c == ')':
		case c == '+' && i == 0:
		default:
			return "", errInvalidPhone
		}
	}
	if input[0] != '+' && region == "" {
		return "", errInvalidPhone
	}
	if region == "" {
		region = "ZZ"
	}
	num, err := phonenumbers.Parse(input, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", errInvalidPhone
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// parseE164 is parsePhone for configuration: the number must be written in
// E.164 form already, so a typo cannot silently change its meaning.
func parseE164(s string) (string, error) {
	e164, err := parsePhone(s, "")
	if err != nil || e164 != s {
		return "", fmt.Errorf("%q is not a valid phone number in E.164 form (like +12015550123)", s)
	}
	return e164, nil
}

// regionOf returns the ISO 3166 alpha-2 region of an E.164 number.
func regionOf(e164 string) string {
	num, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}

// validCountry reports whether code is a region phonenumbers knows.
func validCountry(code string) bool {
	_, ok := phonenumbers.GetSupportedRegions()[code]
	return ok && code == strings.ToUpper(code)
}

// phonePolicy decides which numbers may receive a code. A number it rules
// out still gets the ordinary "sent" answer, so that nobody can learn from
// the answer which numbers are allowed.
type phonePolicy struct {
	allow     map[string]struct{} // nil: any number
	countries map[string]struct{} // nil: any country
}

func (p phonePolicy) permits(e164 string) bool {
	if p.allow != nil {
		if _, ok := p.allow[e164]; !ok {
			return false
		}
	}
	if p.countries != nil {
		if _, ok := p.countries[regionOf(e164)]; !ok {
			return false
		}
	}
	return true
}

// readPhoneFile reads an allow_file: one E.164 number a line, blank lines
// and '#' comments ignored. Errors name the file and line.
func readPhoneFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var phones []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		e164, err := parseE164(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		phones = append(phones, e164)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return phones, nil
}
