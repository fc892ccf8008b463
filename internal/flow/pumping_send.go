package flow

import (
	"errors"
	"strconv"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/store"
)

// The guard's part of a send, in the send's three batches (flow.go):
// with the reads, what it needs to judge (the known phone, the pauses,
// the previous window's counters, the pending slots, the country's
// floor); with the limits' takes, the counts whose answer must be
// atomic (the network marks, this send in the windows, a limit_prefix
// slot); and with the code, after the provider call, the writes that
// depend on those answers (this send's units, its pending slot, the
// per-prefix count of country units, pauses, a slot given back). The
// verdict is made between the second and the third from the answers,
// as the counters will stand once the third is written.

// none marks an op a batch does not hold.
const none = -1

// sendGuard is the guard's part of one send.
type sendGuard struct {
	f                         *Flow
	e164, prefix, country, nw string
	t                         time.Time
	b                         int64   // the window
	frac                      float64 // how far into it
	slot, epoch               int64   // the pending slot and its counter
	slotLen                   time.Duration
	floor                     float64 // the country's floor, if cached
	floorOK                   bool

	// The reads: indices in the first batch.
	rKnown, rPausePrefix, rPauseCountry, rMark, rUnits, rKnownPrefix int
	rPrev, rPend, rPrevPend                                          [2]int // by scope: prefix, country
	rDays                                                            []int

	// What the reads decided before any take.
	known   bool   // a known phone: it passes, and counts against its slack
	reason  string // held back before counting (number type, prefix paused)
	pass    bool   // nothing to judge (no rule that counts)
	cPaused bool   // the country's pause is on

	// The takes: indices in the second batch.
	tKnown, tMark, tCountryMark, tSlot int
	tWin                               [2]int
}

// scopes are the evidence's two scopes, in the order of the arrays above.
var scopes = [2]string{ScopePrefix, ScopeCountry}

// newSendGuard is the guard's part of a send to e164 from network nw,
// or nil when the guard passes it without a store call (no guard, or
// a number it bypasses).
func (f *Flow) newSendGuard(e164, nw string) *sendGuard {
	p := f.Pumping
	if p == nil || (p.Bypass != nil && p.Bypass(e164)) {
		return nil
	}
	g := &sendGuard{f: f, e164: e164, prefix: Prefix(e164), country: Country(e164), nw: nw, t: p.now(f),
		rKnown: none, rPausePrefix: none, rPauseCountry: none, rMark: none, rUnits: none, rKnownPrefix: none,
		rPrev: [2]int{none, none}, rPend: [2]int{none, none}, rPrevPend: [2]int{none, none},
		tKnown: none, tMark: none, tCountryMark: none, tSlot: none, tWin: [2]int{none, none}}
	g.b, g.frac = p.bucket(g.t)
	// A code sent in slot s may be pending until slot s+slotsPerTTL ends.
	g.slotLen = max(f.CodeTTL/slotsPerTTL, time.Second)
	g.slot = g.t.UnixNano() / g.slotLen.Nanoseconds()
	g.epoch = g.slot / epochSlots
	return g
}

// read adds what the guard reads to the send's first batch. A nil guard
// reads nothing.
func (g *sendGuard) read(b *ops) {
	if g == nil {
		return
	}
	f, p := g.f, g.f.Pumping
	if p.Trust > 0 {
		g.rKnown = b.add(get(f.knownPhoneKey(g.e164)))
	}
	if p.MinSends == 0 {
		return
	}
	g.rPausePrefix = b.add(get(f.pauseKey(ScopePrefix, g.prefix)))
	g.rPauseCountry = b.add(get(f.pauseKey(ScopeCountry, g.country)))
	g.rMark = b.add(get(f.k("pn", ScopePrefix, g.prefix, g.nw)))
	g.rUnits = b.add(get(g.unitsKey()))
	if p.Trust > 0 {
		g.rKnownPrefix = b.add(get(f.knownPrefixKey(g.prefix)))
	}
	from := g.slot - slotsPerTTL
	for i, key := range [2]string{g.prefix, g.country} {
		g.rPrev[i] = b.add(get(f.windowKey(scopes[i], key, g.b-1)))
		g.rPend[i] = b.add(get(f.pendingKey(scopes[i], key, g.epoch)))
		if from/epochSlots != g.epoch {
			g.rPrevPend[i] = b.add(get(f.pendingKey(scopes[i], key, g.epoch-1)))
		}
	}
	if g.floor, g.floorOK = f.cachedFloor(g.country, g.t); !g.floorOK {
		today := day(g.t)
		for d := today - floorDays + 1; d <= today; d++ {
			g.rDays = append(g.rDays, b.add(get(f.dailyKey(g.country, d))))
		}
	}
}

// unitsKey counts the country units of the prefix in the window: at most
// perPrefix count.
func (g *sendGuard) unitsKey() string {
	return g.f.k("pu", strconv.FormatInt(g.b, 10), g.country, g.prefix)
}

// take judges what the reads decide alone (a known phone, a number type,
// a paused prefix) and adds the guard's takes to the second batch.
func (g *sendGuard) take(b *ops, reads ops) error {
	if g == nil {
		return nil
	}
	f, p := g.f, g.f.Pumping
	if g.rKnown != none {
		op := reads[g.rKnown]
		if op.Err == nil {
			// Known while it has slack: the Incr, with the limits,
			// counts this send against it and keeps the key's TTL (the
			// pass ends Trust after the last verified code). A key that
			// expired since the read is not made anew (undoTTL).
			if n, err := strconv.Atoi(string(op.Out)); err == nil && n < knownSlack {
				g.known = true
				g.tKnown = b.add(store.Op{Kind: store.OpIncr, Key: op.Key, Delta: 1, TTL: undoTTL, Durable: true})
				return nil
			}
		}
	}
	if p.Withhold[phone.Type(g.e164)] {
		g.reason = ReasonNumberType
		return nil
	}
	if p.LimitPrefix == 0 && p.MinSends == 0 {
		g.pass = true
		return nil
	}
	if p.MinSends > 0 {
		on, err := pausedOp(reads[g.rPausePrefix], ScopePrefix, g.prefix, g.t)
		if err != nil {
			return err
		}
		if on {
			g.reason = ReasonPrefixPaused
			return nil
		}
		if g.cPaused, err = pausedOp(reads[g.rPauseCountry], ScopeCountry, g.country, g.t); err != nil {
			return err
		}
	}
	// A client network's first send to the prefix is a unit of evidence,
	// and its later ones there for two windows are sends alone: the
	// breakers' figures span two windows at most (this one and the last,
	// weighted), so a network is never in them twice, and it takes one
	// limit_prefix slot a window however its sends straddle the windows.
	g.tMark = b.add(store.Op{Kind: store.OpSetNX, Key: f.k("pn", ScopePrefix, g.prefix, g.nw), Val: []byte{1}, TTL: 2 * p.Window})
	if p.MinSends > 0 {
		// The country counts a network once a window: it is claimed
		// with the network's first send to a prefix (as the reads
		// foretell it), so that one address cannot use up a prefix's
		// share of units for the others.
		if errors.Is(reads[g.rMark].Err, store.ErrNotFound) {
			g.tCountryMark = b.add(store.Op{Kind: store.OpSetNX, Key: f.k("pn", ScopeCountry, g.country, g.nw), Val: []byte{1}, TTL: 2 * p.Window})
		}
		for i, key := range [2]string{g.prefix, g.country} {
			g.tWin[i] = b.add(store.Op{Kind: store.OpIncr, Key: f.windowKey(scopes[i], key, g.b), Delta: sendOne, TTL: 2 * p.Window})
		}
	}
	if p.LimitPrefix > 0 {
		g.tSlot = b.add(store.Op{Kind: store.OpHit, Key: f.k("pv", g.prefix), Limit: int64(p.LimitPrefix), Window: p.Window})
	}
	return nil
}

// undo adds to b what takes back the guard's takes that went through,
// for a send the limits refused (or a batch that failed): the send ends
// counted nowhere.
func (g *sendGuard) undo(b *ops, takes ops) {
	if g == nil {
		return
	}
	ok := func(i int) bool { return i != none && takes[i].Err == nil }
	if ok(g.tKnown) {
		b.add(store.Op{Kind: store.OpIncr, Key: takes[g.tKnown].Key, Delta: -1, TTL: undoTTL, Durable: true})
	}
	for _, i := range []int{g.tMark, g.tCountryMark} {
		if ok(i) && takes[i].OK {
			b.add(store.Op{Kind: store.OpDelete, Key: takes[i].Key})
		}
	}
	for _, i := range g.tWin {
		if ok(i) {
			b.add(store.Op{Kind: store.OpIncr, Key: takes[i].Key, Delta: -sendOne, TTL: undoTTL})
		}
	}
	if ok(g.tSlot) && takes[g.tSlot].OK {
		b.add(store.Op{Kind: store.OpUnhit, Key: takes[g.tSlot].Key})
	}
}

// judge makes the verdict from the reads and the takes, and adds to
// writes what the send leaves in the store with its code.
func (g *sendGuard) judge(reads, takes ops, writes *ops) (verdict, error) {
	if g == nil || g.known || g.pass {
		return verdict{}, nil
	}
	if g.reason != "" {
		return verdict{reason: g.reason}, nil
	}
	first := takes[g.tMark].OK
	v := verdict{mark: markCounted}
	if g.f.Pumping.MinSends > 0 {
		var err error
		if v.reason, v.paused, err = g.breakers(reads, takes, writes, first); err != nil {
			return verdict{}, err
		}
	}
	if g.tSlot == none {
		return v, nil
	}
	slot := takes[g.tSlot]
	switch {
	case !slot.OK:
		if v.reason == "" {
			v.reason = ReasonPrefixLimit
		}
	case v.reason != "" || !first:
		// Only a network's first send takes a slot, so that one client
		// cannot spend a prefix's slots on its neighbours; its later ones
		// go out while a slot is free, and take none. A send a breaker
		// holds back takes none either. The slot taken with the limits
		// goes back with the code.
		writes.add(store.Op{Kind: store.OpUnhit, Key: slot.Key})
	default:
		v.mark = markSlot
	}
	return v, nil
}

// breakers counts a send for the prefix's breaker and the country's, trips
// either if its evidence says so, and holds the send back where the
// country is paused and the prefix is one of those its pump hits.
func (g *sendGuard) breakers(reads, takes ops, writes *ops, first bool) (string, *Pause, error) {
	p := g.f.Pumping
	slotBit := int64(1) << (slotBits * (g.slot % epochSlots))
	pendTTL := 3 * epochSlots * g.slotLen
	// A unit is written with the code; the evidence counts it already.
	counted := func(scope int, unit bool) (evidence, error) {
		n := takes[g.tWin[scope]].N
		pend, err := counter(reads[g.rPend[scope]])
		if err != nil {
			return evidence{}, err
		}
		if unit {
			n += unitOne
			pend += slotBit
			writes.add(store.Op{Kind: store.OpIncr, Key: takes[g.tWin[scope]].Key, Delta: unitOne, TTL: 2 * p.Window})
			writes.add(store.Op{Kind: store.OpIncr, Key: reads[g.rPend[scope]].Key, Delta: slotBit, TTL: pendTTL})
		}
		prev, err := counter(reads[g.rPrev[scope]])
		if err != nil {
			return evidence{}, err
		}
		var prevPend int64
		if i := g.rPrevPend[scope]; i != none {
			if prevPend, err = counter(reads[i]); err != nil {
				return evidence{}, err
			}
		}
		return p.evidence(n, prev, pendingSlots(pend, prevPend, g.slot-slotsPerTTL, g.slot), g.frac), nil
	}
	pe, err := counted(0, first)
	if err != nil {
		return "", nil, err
	}
	// The country counts each prefix's first perPrefix networks: one
	// address sending to twenty prefixes is one unit, and a pump of five
	// hundred addresses on three prefixes is nine.
	unit := false
	if g.tCountryMark != none && takes[g.tCountryMark].OK {
		if !first {
			// Claimed on a guess the prefix's mark proved wrong (the
			// network's sends raced): not its first send, so not a claim.
			writes.add(store.Op{Kind: store.OpDelete, Key: takes[g.tCountryMark].Key})
		} else {
			units, err := counter(reads[g.rUnits])
			if err != nil {
				return "", nil, err
			}
			unit = units < perPrefix
			writes.add(store.Op{Kind: store.OpIncr, Key: g.unitsKey(), Delta: 1, TTL: 2 * p.Window})
		}
	}
	ce, err := counted(1, unit)
	if err != nil {
		return "", nil, err
	}
	if first && p.trips(pe, float64(p.MinSends)) {
		return ReasonPrefixPaused, g.pause(writes, ScopePrefix, g.prefix, pe), nil
	}
	var pz *Pause
	countryPaused := g.cPaused
	if unit && !countryPaused {
		floor, err := g.countryFloor(reads)
		if err != nil {
			return "", nil, err
		}
		if p.trips(ce, floor) {
			pz = g.pause(writes, ScopeCountry, g.country, ce)
			countryPaused = true
		}
	}
	if !countryPaused || !pumped(pe) {
		return "", pz, nil
	}
	// A paused country holds back the prefixes its pump hits; new
	// visitors elsewhere, and in prefixes where someone verified lately,
	// get their codes.
	if i := g.rKnownPrefix; i != none {
		if known, err := present(reads[i]); err != nil || known {
			return "", pz, err
		}
	}
	// Once two networks' codes expired unverified there, the prefix is
	// paused as its own breaker would pause it: a pump that comes back to
	// it from the same addresses adds no new units, and the hold must not
	// fade with the window's evidence while the pump goes on.
	if pz == nil && pe.settled() >= pumpedPause {
		return ReasonCountryPaused, g.pause(writes, ScopePrefix, g.prefix, pe), nil
	}
	return ReasonCountryPaused, pz, nil
}

// pause trips scope's breaker on evidence e: the pause is written with
// the code.
func (g *sendGuard) pause(writes *ops, scope, key string, e evidence) *Pause {
	pz, op := g.f.pause(scope, key, g.t, e)
	writes.add(op)
	return pz
}

// countryFloor is how many settled units the country's breaker needs:
// from the cache, or from the daily counts the reads brought.
func (g *sendGuard) countryFloor(reads ops) (float64, error) {
	if g.floorOK {
		return g.floor, nil
	}
	var busiest int64
	for _, i := range g.rDays {
		n, err := counter(reads[i])
		if err != nil {
			return 0, err
		}
		busiest = max(busiest, n)
	}
	return g.f.keepFloor(g.country, g.t, busiest), nil
}
