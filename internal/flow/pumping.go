package flow

import (
	"context"
	"strconv"
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

// guard judges a send to e164 from the client at ip. Every count is one
// atomic store call; a store failure fails the send closed.
func (f *Flow) guard(ctx context.Context, e164, ip string) (verdict, error) {
	p := f.Pumping
	if p == nil || (p.Bypass != nil && p.Bypass(e164)) {
		return verdict{}, nil
	}
	if known, err := f.knownPhone(ctx, e164); err != nil || known {
		return verdict{}, err
	}
	if p.Withhold[phone.Type(e164)] {
		return verdict{reason: ReasonNumberType}, nil
	}
	if p.LimitPrefix == 0 && p.MinSends == 0 {
		return verdict{}, nil
	}
	prefix, country := Prefix(e164), Country(e164)
	t := p.now(f)
	countryPaused := false
	if p.MinSends > 0 {
		if on, err := f.paused(ctx, ScopePrefix, prefix, t); err != nil || on {
			return verdict{reason: ReasonPrefixPaused}, err
		}
		var err error
		if countryPaused, err = f.paused(ctx, ScopeCountry, country, t); err != nil {
			return verdict{}, err
		}
	}
	// A client network's first send to the prefix is a unit of evidence,
	// and its later ones there for two windows are sends alone: the
	// breakers' figures span two windows at most (this one and the last,
	// weighted), so a network is never in them twice, and it takes one
	// limit_prefix slot a window however its sends straddle the windows.
	b, _ := p.bucket(t)
	net := ipKey(ip)
	first, _, err := f.Store.SetNX(ctx, f.k("pn", ScopePrefix, prefix, net), []byte{1}, 2*p.Window)
	if err != nil {
		return verdict{}, err
	}
	v := verdict{mark: markCounted}
	if p.MinSends > 0 {
		j := judgement{prefix: prefix, country: country, net: net, first: first, countryPaused: countryPaused, t: t, b: b}
		if v.reason, v.paused, err = f.judge(ctx, j); err != nil || v.reason != "" {
			return v, err
		}
	}
	if p.LimitPrefix > 0 {
		key := f.k("pv", prefix)
		ok, _, err := f.Store.Hit(ctx, key, int64(p.LimitPrefix), p.Window, 0)
		switch {
		case err != nil:
			return verdict{}, err
		case !ok:
			v.reason = ReasonPrefixLimit
		case first:
			v.mark = markSlot
		default:
			// Only a network's first send takes a slot, so that one
			// client cannot spend a prefix's slots on its neighbours;
			// its later ones go out while a slot is free, and take none.
			if err := f.Store.Unhit(ctx, key); err != nil {
				return verdict{}, err
			}
		}
	}
	return v, nil
}

// perPrefix is how many units a prefix gives its country's breaker a
// window (and how many of its verified codes count there): a pump of
// many networks on a few prefixes is a few prefixes' evidence, and a
// pump spread over many prefixes shows as many.
const perPrefix = 3

// judgement is one send as the breakers see it, in window b: first is
// the client network's first send to the prefix in two windows;
// countryPaused says the country's breaker is tripped.
type judgement struct {
	prefix, country, net string
	first, countryPaused bool
	t                    time.Time
	b                    int64
}

// judge counts a send for the prefix's breaker and the country's, trips
// either if its evidence says so, and holds the send back where the
// country is paused and the prefix is one of those its pump hits.
func (f *Flow) judge(ctx context.Context, j judgement) (string, *Pause, error) {
	p := f.Pumping
	pe, err := f.count(ctx, ScopePrefix, j.prefix, j.first, true, j.t)
	if err != nil {
		return "", nil, err
	}
	// The country counts a network once a window, and each prefix's
	// first perPrefix networks: one address sending to twenty prefixes
	// is one unit, and a pump of five hundred addresses on three
	// prefixes is nine. The network is claimed first, so that one
	// address cannot use up a prefix's share for the others.
	unit := false
	if j.first {
		bs := strconv.FormatInt(j.b, 10)
		unit, _, err = f.Store.SetNX(ctx, f.k("pn", ScopeCountry, j.country, j.net), []byte{1}, 2*p.Window)
		if err == nil && unit {
			var n int64
			n, _, err = f.Store.Incr(ctx, f.k("pu", bs, j.country, j.prefix), 1, 2*p.Window)
			unit = n <= perPrefix
		}
		if err != nil {
			return "", nil, err
		}
	}
	ce, err := f.count(ctx, ScopeCountry, j.country, unit, unit, j.t)
	if err != nil {
		return "", nil, err
	}
	if j.first && p.trips(pe, float64(p.MinSends)) {
		pz, err := f.pause(ctx, ScopePrefix, j.prefix, j.t, pe)
		return ReasonPrefixPaused, pz, err
	}
	var pz *Pause
	if unit && !j.countryPaused {
		floor, err := f.countryFloor(ctx, j.country, j.t)
		if err != nil {
			return "", nil, err
		}
		if p.trips(ce, floor) {
			if pz, err = f.pause(ctx, ScopeCountry, j.country, j.t, ce); err != nil {
				return "", nil, err
			}
			j.countryPaused = true
		}
	}
	if !j.countryPaused || !pumped(pe) {
		return "", pz, nil
	}
	// A paused country holds back the prefixes its pump hits; new
	// visitors elsewhere, and in prefixes where someone verified lately,
	// get their codes.
	if known, err := f.knownPrefix(ctx, j.prefix); err != nil || known {
		return "", pz, err
	}
	// Once two networks' codes expired unverified there, the prefix is
	// paused as its own breaker would pause it: a pump that comes back to
	// it from the same addresses adds no new units, and the hold must not
	// fade with the window's evidence while the pump goes on.
	if pz == nil && pe.settled() >= pumpedPause {
		pp, err := f.pause(ctx, ScopePrefix, j.prefix, j.t, pe)
		return ReasonCountryPaused, pp, err
	}
	return ReasonCountryPaused, pz, nil
}

// pumpedPause is how many networks' expired codes, none verified, pause
// a prefix of a paused country.
const pumpedPause = 2

// pumped reports whether a prefix's evidence is a pumped one's: codes
// that expired unverified, and none verified in the window.
func pumped(e evidence) bool { return e.settled() >= 1 && e.verified == 0 }

// verified counts a verified code: the phone and its prefix become known,
// and a counted send gives its limit_prefix slot back and counts for the
// breakers, for its prefix, and for its country the first perPrefix of
// the prefix in a window. Best effort: a store failure here must not undo a
// sign-in.
func (f *Flow) verified(ctx context.Context, e164 string, m mark) {
	p := f.Pumping
	if p == nil || (p.Bypass != nil && p.Bypass(e164)) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	f.markKnown(ctx, e164)
	prefix, country := Prefix(e164), Country(e164)
	t := p.now(f)
	if p.MinSends > 0 {
		f.countVerifiedDay(ctx, country, t)
	}
	if m == markNone {
		return
	}
	if m == markSlot && p.LimitPrefix > 0 {
		f.Store.Unhit(ctx, f.k("pv", prefix))
	}
	if p.MinSends == 0 {
		return
	}
	b, _ := p.bucket(t)
	n, _, err := f.Store.Incr(ctx, f.windowKey(ScopePrefix, prefix, b), verifiedOne, 2*p.Window)
	if err == nil && unpack(n).verified <= perPrefix {
		f.Store.Incr(ctx, f.windowKey(ScopeCountry, country, b), verifiedOne, 2*p.Window)
	}
}
