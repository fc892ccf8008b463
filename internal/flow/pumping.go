package flow

import (
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// The SMS-pumping guard (issues 16 and 23). Toll fraud asks codes for
// numbers whose carrier pays the attacker per message: premium-rate
// lines, or a whole range of one country's numbers, from many addresses,
// and never types a code. The guard holds such sends back before a
// message goes out, and exists to protect the site owner's money without
// costing real people their sign-in: a rule that can withhold a real
// visitor's code is a defect, not a trade-off. So:
//
//   - a known phone (one that verified on this domain within Trust) and
//     the site's own numbers (Bypass) pass every rule (pumping_known.go);
//   - number types: premium rate, shared cost, toll free and the like
//     never get an SMS;
//   - prefix velocity: at most LimitPrefix texts a Window per prefix (the
//     number without its last four digits) that nobody verified, and a
//     client network takes at most one of them a window (its further
//     sends there are held back only when the prefix's slots are gone): a
//     verified code gives its slot back, so a busy office in one range
//     is never held back, and a pump, which never verifies, is;
//   - a conversion-rate breaker per prefix, and one per country, over
//     settled sends only (a code not typed yet is not a failure) and in
//     units no one client network can multiply (pumping_evidence.go);
//     a tripped breaker pauses its prefix, or in its country the prefixes
//     a pump hits, for PauseFor;
//   - Monitor: every rule judges, counts and pauses as it would, and is
//     logged, but nothing is withheld: how an admin rolls the guard out.
//
// A send held back is withheld, never refused: the visitor is told
// "sent", as for a number the allowlist rules out (Sent.Reason says
// why). The counts live in the store, in windows aligned to the clock,
// so that every instance and every reload sees the same ones.

// Why a send was withheld (Sent.Reason), for the audit log and metrics.
const (
	ReasonPolicy        = "policy"         // allow, allow_file or countries ruled it out
	ReasonNumberType    = "number_type"    // a type withhold_types names
	ReasonPrefixLimit   = "prefix_limit"   // limit_prefix
	ReasonPrefixPaused  = "prefix_paused"  // the prefix's breaker tripped
	ReasonCountryPaused = "country_paused" // the country's breaker tripped
)

// Reasons are every withheld reason, for metrics that list them up front.
var Reasons = []string{ReasonPolicy, ReasonNumberType, ReasonPrefixLimit, ReasonPrefixPaused, ReasonCountryPaused}

// Pumping is the guard's configuration. A nil *Pumping guards nothing.
type Pumping struct {
	Withhold    map[string]bool // phone.Type names that never get an SMS
	LimitPrefix int             // unverified texts per prefix per Window; 0: no limit
	MinSends    int             // settled units a breaker needs to judge (a country's at least); 0: no breaker
	MinVerified int             // the percentage verified below which a breaker trips
	Window      time.Duration   // the breakers' and limit_prefix's window
	PauseFor    time.Duration   // how long a tripped breaker pauses sends
	// Trust is how long a phone that verified passes every rule, and
	// its prefix every country pause; 0: none does.
	Trust time.Duration
	// Monitor withholds nothing: the rules judge, count, pause and report
	// (Sent.Flagged) as they would.
	Monitor bool
	// Bypass reports numbers no guard holds back (allow, allow_file).
	Bypass func(e164 string) bool
	// Now is the breakers' clock; nil: the flow's.
	Now func() time.Time

	floors floors
}

// Prefix is the number without its last four digits: the block of ten
// thousand numbers a carrier hands out together.
func Prefix(e164 string) string {
	if len(e164) <= 5 {
		return e164
	}
	return e164[:len(e164)-4]
}

// Country is the country a number is counted in; "ZZ" for numbers no one
// country issues.
func Country(e164 string) string {
	if c := phone.Region(e164); c != "" && c != "001" {
		return c
	}
	return "ZZ"
}

func (p *Pumping) now(f *Flow) time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return f.Now()
}

// mark is what the guard made of a send, kept with its code for the
// verify: whether it counted as evidence, and whether it took a
// limit_prefix slot that a verified code gives back.
type mark uint8

const (
	markNone    mark = iota // not counted: bypassed, known, or held back before
	markCounted             // counted for the breakers
	markSlot                // counted, and took a limit_prefix slot
)

// verdict is the guard's answer: why the send is held back ("" when it
// goes out), the pause it set if it tripped a breaker, and its mark.
type verdict struct {
	reason string
	paused *Pause
	mark   mark
}

// perPrefix is how many units a prefix gives its country's breaker a
// window (and how many of its verified codes count there): a pump of
// many networks on a few prefixes is a few prefixes' evidence, and a
// pump spread over many prefixes shows as many.
const perPrefix = 3

// pumpedPause is how many networks' expired codes, none verified, pause
// a prefix of a paused country.
const pumpedPause = 2

// pumped reports whether a prefix's evidence is a pumped one's: codes
// that expired unverified, and none verified in the window.
func pumped(e evidence) bool { return e.settled() >= 1 && e.verified == 0 }
