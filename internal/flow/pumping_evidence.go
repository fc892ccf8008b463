package flow

import (
	"strconv"
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// The breakers' evidence: what was sent to a prefix or a country, and
// what came of it, over the last Window.
//
// A send is judged only once it has had its chance: verified, or expired
// unverified. A code still pending says nothing yet, so that a burst of
// visitors who have not typed their code (a launch, a newsletter, a load
// test) is not mistaken for a pump. The windows count every send; a
// second count, in slots of a third of a code's life, holds the sends of
// the last four slots, whose codes may still be pending. Sends minus those
// are the settled ones a breaker judges: a bound that errs on the side of
// the visitor, since a code verified early stays "pending" until its slot
// is old, and a code is judged a third of its life after it expired at
// the latest.
//
// A unit is what a breaker counts: for a prefix, a client network's
// first send to it in a window; for a country, a prefix sent to from a
// client network not yet counted for the country in the window. No one
// client network can so decide a breaker alone: tripping one takes as
// many networks as the breaker needs units.

// A window counter packs three counts in one integer, so that one atomic
// Incr counts an event and reads all: units, verified codes and sends,
// 21 bits each (two million a window).
const (
	fieldBits   = 21
	fieldMask   = int64(1)<<fieldBits - 1
	unitOne     = int64(1)
	verifiedOne = int64(1) << fieldBits
	sendOne     = int64(1) << (2 * fieldBits)
)

type tally struct{ units, verified, sends int64 }

func unpack(n int64) tally {
	return tally{n & fieldMask, n >> fieldBits & fieldMask, n >> (2 * fieldBits) & fieldMask}
}

// evidence is a breaker's figures over the last Window.
type evidence struct {
	units, verified, sends float64
	pending                float64 // units whose code may still be pending, at most
}

// settled are the units whose code verified or expired.
func (e evidence) settled() float64 { return max(0, e.units-e.pending) }

// verifiedSettled are the verified ones among them, at most.
func (e evidence) verifiedSettled() float64 { return min(e.verified, e.settled()) }

// expired are the settled units that were not verified, at least.
func (e evidence) expired() float64 { return e.settled() - e.verifiedSettled() }

// trips reports whether the evidence trips a breaker that needs floor
// settled units.
func (p *Pumping) trips(e evidence, floor float64) bool {
	s := e.settled()
	return s >= floor && e.verifiedSettled()*100 < float64(p.MinVerified)*s
}

// bucket is the window a moment falls in, and how far into it it is
// (0 to 1). Windows are aligned to the clock, so a prefix's sends and its
// verifications, and the country's, fall in the same ones.
func (p *Pumping) bucket(t time.Time) (int64, float64) {
	w := p.Window.Nanoseconds()
	n := t.UnixNano()
	return n / w, float64(n%w) / float64(w)
}

func (f *Flow) windowKey(scope, key string, b int64) string {
	return f.k("pw", scope, strconv.FormatInt(b, 10), key)
}

// The pending count packs epochSlots slots in one counter, slotBits
// each, so that one Incr counts a unit and reads the current slots, and
// one Get the previous counter's: the count of a code's life and a slot
// costs what a single slot would.
const (
	slotsPerTTL = 3  // slots in a code's life
	epochSlots  = 4  // slots a pending counter holds
	slotBits    = 15 // 32,767 units a slot
	slotMask    = int64(1)<<slotBits - 1
)

func (f *Flow) pendingKey(scope, key string, epoch int64) string {
	return f.k("pp", scope, strconv.FormatInt(epoch, 10), key)
}

// pendingSlots is the units of slots from to slot (at most epochSlots of
// them) in the counters of slot's epoch (cur) and the one before (prev).
func pendingSlots(cur, prev, from, slot int64) int64 {
	var n int64
	for s := from; s <= slot; s++ {
		v := cur
		if s/epochSlots != slot/epochSlots {
			v = prev
		}
		n += v >> (slotBits * (s % epochSlots)) & slotMask
	}
	return n
}

// evidence is a breaker's figures over the last Window from its counters:
// the current window's n, the previous window's prev, weighted by how
// much of it (1-frac) is still within Window, and the units whose code
// may still be pending.
func (p *Pumping) evidence(n, prev, pending int64, frac float64) evidence {
	c, pv := unpack(n), unpack(prev)
	w := 1 - frac
	return evidence{
		units:    float64(c.units) + w*float64(pv.units),
		verified: float64(c.verified) + w*float64(pv.verified),
		sends:    float64(c.sends) + w*float64(pv.sends),
		pending:  float64(pending),
	}
}

// A country's breaker needs more units on a site where more people sign
// in: the larger of MinSends and a share of the busiest day's verified
// codes in the country over the last week. A site that verifies 20,000
// codes a day in a country is not judged by a small site's 20 sends; a
// quiet night there, or a provider that stops delivering for a few
// minutes, does not pause it. The figure is read at most once a minute
// per country.
const (
	dailyShare = 20 // 5% of the busiest day
	floorDays  = 7
	floorAge   = time.Minute
)

type floorEntry struct {
	at time.Time
	n  float64
}

// floors caches countryFloor's figures; one per Pumping.
type floors struct {
	mu sync.Mutex
	m  map[string]floorEntry
}

func day(t time.Time) int64 { return t.Unix() / 86400 }

func (f *Flow) dailyKey(country string, d int64) string {
	return f.k("pd", country, strconv.FormatInt(d, 10))
}

// verifiedDay counts a verified code for the country's daily figure.
func (f *Flow) verifiedDay(country string, t time.Time) store.Op {
	return store.Op{Kind: store.OpIncr, Key: f.dailyKey(country, day(t)), Delta: 1, TTL: (floorDays + 1) * 24 * time.Hour}
}

// cachedFloor is the country's floor (how many settled units its breaker
// needs) if it was read less than floorAge ago.
func (f *Flow) cachedFloor(country string, t time.Time) (float64, bool) {
	p := f.Pumping
	p.floors.mu.Lock()
	e, ok := p.floors.m[country]
	p.floors.mu.Unlock()
	if ok && t.Sub(e.at) < floorAge && t.Sub(e.at) >= 0 {
		return max(float64(p.MinSends), e.n), true
	}
	return 0, false
}

// keepFloor caches the country's floor from its busiest day's verified
// codes over the last floorDays, and returns it.
func (f *Flow) keepFloor(country string, t time.Time, busiest int64) float64 {
	p := f.Pumping
	e := floorEntry{at: t, n: float64(busiest) / dailyShare}
	p.floors.mu.Lock()
	if p.floors.m == nil {
		p.floors.m = map[string]floorEntry{}
	}
	p.floors.m[country] = e
	p.floors.mu.Unlock()
	return max(float64(p.MinSends), e.n)
}
