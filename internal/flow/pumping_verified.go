package flow

import (
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// A verified code, as the guard counts it: the phone and its prefix
// become known, and a counted send gives its limit_prefix slot back and
// counts for the breakers, for its prefix, and for its country the first
// perPrefix of the prefix in a window. What it reads goes with the
// verify's first batch, what it writes with the second (the one that
// uses the code up). Best effort: a store failure here must not undo a
// sign-in.

// verifyGuard is the guard's part of one verify.
type verifyGuard struct {
	f               *Flow
	e164, prefix    string
	country         string
	t               time.Time
	b               int64
	rKnown, rPrefix int // the known phone's and prefix's marks
	rWin            int // the prefix's window
	written         []int
}

// newVerifyGuard is the guard's part of a verify of e164, or nil when
// the guard counts nothing for it.
func (f *Flow) newVerifyGuard(e164 string) *verifyGuard {
	p := f.Pumping
	if p == nil || (p.Bypass != nil && p.Bypass(e164)) {
		return nil
	}
	g := &verifyGuard{f: f, e164: e164, prefix: Prefix(e164), country: Country(e164), t: p.now(f),
		rKnown: none, rPrefix: none, rWin: none}
	g.b, _ = p.bucket(g.t)
	return g
}

// read adds what the guard reads to the verify's first batch: whether
// the known marks are fresh, and how many verified codes the prefix's
// window holds.
func (g *verifyGuard) read(b *ops) {
	if g == nil {
		return
	}
	f, p := g.f, g.f.Pumping
	if p.Trust > 0 {
		g.rKnown = b.add(get(f.knownPhoneKey(g.e164)))
		g.rPrefix = b.add(get(f.knownPrefixKey(g.prefix)))
	}
	if p.MinSends > 0 {
		g.rWin = b.add(get(f.windowKey(ScopePrefix, g.prefix, g.b)))
	}
}

// write adds to b what a verified code of a send marked m writes.
func (g *verifyGuard) write(b *ops, reads ops, m mark) {
	if g == nil {
		return
	}
	f, p := g.f, g.f.Pumping
	if p.Trust > 0 {
		// The phone and its prefix are known for Trust from now. A mark
		// written lately is left as it is, so that a regular visitor
		// costs the memory store's disk no write a sign-in.
		fresh := p.Trust - p.Trust/30
		for _, i := range []int{g.rKnown, g.rPrefix} {
			if op := reads[i]; op.Err == nil && string(op.Out) == "0" && op.Left > fresh {
				continue
			}
			b.add(store.Op{Kind: store.OpSet, Key: reads[i].Key, Val: []byte("0"), TTL: p.Trust, Durable: true})
		}
	}
	if p.MinSends > 0 {
		g.written = append(g.written, b.add(f.verifiedDay(g.country, g.t)))
	}
	if m == markNone {
		return
	}
	if m == markSlot && p.LimitPrefix > 0 {
		g.written = append(g.written, b.add(store.Op{Kind: store.OpUnhit, Key: f.k("pv", g.prefix)}))
	}
	if p.MinSends == 0 {
		return
	}
	g.written = append(g.written, b.add(store.Op{Kind: store.OpIncr, Key: f.windowKey(ScopePrefix, g.prefix, g.b), Delta: verifiedOne, TTL: 2 * p.Window}))
	// The country counts the prefix's first perPrefix verified codes of
	// the window, as the read foretells them: verifies racing in one
	// prefix may count one each past it.
	if n, err := counter(reads[g.rWin]); err == nil && unpack(n).verified < perPrefix {
		g.written = append(g.written, b.add(store.Op{Kind: store.OpIncr, Key: f.windowKey(ScopeCountry, g.country, g.b), Delta: verifiedOne, TTL: 2 * p.Window}))
	}
}

// undo adds to b what takes back the counts write made, for a verify
// whose code another verify used up first (two right answers racing):
// a code counts as verified once. The limit_prefix slot it gave back
// stays given: Unhit stops at an empty window, so a Hit could not undo
// it exactly, and would leave slots taken that no send holds (real
// visitors' sends held back); each racing verify needs an attempt and
// the right code, so one code gives back at most max_attempts slots.
func (g *verifyGuard) undo(b *ops, done ops) {
	if g == nil {
		return
	}
	for _, i := range g.written {
		if op := done[i]; op.Err == nil && op.Kind == store.OpIncr {
			b.add(store.Op{Kind: store.OpIncr, Key: op.Key, Delta: -op.Delta, TTL: undoTTL})
		}
	}
}
