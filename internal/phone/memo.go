package phone

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// A send asks about its number several times (the countries policy, the
// SMS-pumping guard's number type and country, the audit line), and each
// answer costs phonenumbers a parse: regular expressions, about 20 µs. So
// the answers for one number are worked out together, once, and kept in a
// small table, each slot holding the last number that hashed to it. The
// table is bounded by construction (a flood of new numbers only replaces
// slots), its reads take no lock, and a hit compares the whole number, so
// it answers exactly what a parse would.
const memoSlots = 1 << 12

type facts struct {
	e164   string
	region string // ISO 3166 alpha-2, "" when the number does not parse
	kind   string // a typeNames value, or "unknown"
}

var (
	memo     [memoSlots]atomic.Pointer[facts]
	memoSeed = maphash.MakeSeed()
)

// lookup returns what phonenumbers says of e164, from the table or from
// one parse.
func lookup(e164 string) *facts {
	slot := &memo[maphash.String(memoSeed, e164)&(memoSlots-1)]
	if f := slot.Load(); f != nil && f.e164 == e164 {
		return f
	}
	num, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil {
		num = nil
	}
	return remember(e164, num)
}

// remember works out the facts of e164 from num, its parse (nil if it
// does not parse), and keeps them in the table.
func remember(e164 string, num *phonenumbers.PhoneNumber) *facts {
	f := &facts{e164: e164, kind: "unknown"}
	if num != nil {
		f.region = phonenumbers.GetRegionCodeForNumber(num)
		if name, ok := typeNames[phonenumbers.GetNumberType(num)]; ok {
			f.kind = name
		}
	}
	memo[maphash.String(memoSeed, e164)&(memoSlots-1)].Store(f)
	return f
}
