package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// prefixesPerVisitor is how many prefixes each visitor's numbers are
// spread over; with a new number for each sign-in, a prefix gets one of
// a visitor's sign-ins in prefixesPerVisitor.
const prefixesPerVisitor = 16

// countries are the visitors' countries, in turn, with the start and
// length of their mobile numbers in E.164 (as internal/pumpsim makes
// them); every number is checked with internal/phone, as phone_otp
// checks it.
var countries = []struct {
	code, start string
	length      int
}{
	{"US", "+1", 12}, {"GB", "+447", 13}, {"DE", "+4917", 14}, {"FR", "+336", 12},
	{"IN", "+919", 13}, {"ES", "+346", 12}, {"NL", "+316", 12}, {"AU", "+614", 12},
}

// visitor is one of the storm's visitors: a client IP of its own, and
// prefixes of its own in one country.
type visitor struct {
	ip       string
	country  string
	prefixes []string
	n        int
	codes    map[string]string // the codes texted, by number, until verified
}

// newVisitors makes n visitors, each with its own public client IP and
// prefixesPerVisitor prefixes no other visitor has (a fixed seed: every
// run the same numbers).
func newVisitors(n int) []*visitor {
	r := rand.New(rand.NewPCG(25, 25))
	seen := map[string]bool{}
	vs := make([]*visitor, n)
	for i := range vs {
		c := countries[i%len(countries)]
		v := &visitor{
			ip:      fmt.Sprintf("81.%d.%d.%d", 2+i/65536%200, i/256%256, 1+i%254),
			country: c.code,
			codes:   map[string]string{},
		}
		for len(v.prefixes) < prefixesPerVisitor {
			p := mobilePrefix(r, c.code, c.start, c.length, seen)
			seen[p] = true
			v.prefixes = append(v.prefixes, p)
		}
		vs[i] = v
	}
	return vs
}

// mobilePrefix is a random prefix (a number without its last four
// digits) of country code not in seen whose numbers phone_otp reads as
// mobile numbers of that country: checked at both ends of its range and
// in the middle.
func mobilePrefix(r *rand.Rand, code, start string, length int, seen map[string]bool) string {
	for range 1_000_000 {
		p := start
		for len(p) < length-4 {
			p += string(rune('0' + r.IntN(10)))
		}
		if seen[p] {
			continue
		}
		ok := true
		for _, last := range []string{"0000", "5371", "9999"} {
			if !isMobile(p+last, code) {
				ok = false
				break
			}
		}
		if ok {
			return p
		}
	}
	panic("signin: no mobile prefix found for " + code)
}

// isMobile: num is a valid number of country code that phone_otp reads
// as mobile (or, in the US, as either).
func isMobile(num, code string) bool {
	if _, err := phone.ParseE164(num); err != nil {
		return false
	}
	t := phone.Type(num)
	return (t == "mobile" || t == "fixed_line_or_mobile") && phone.Region(num) == code
}

// next is the visitor's next number, a new one each sign-in: its
// prefixes in turn, the last four digits counting up.
func (v *visitor) next() string {
	p := v.prefixes[v.n%len(v.prefixes)]
	num := fmt.Sprintf("%s%04d", p, v.n/len(v.prefixes)%10000)
	v.n++
	return num
}
