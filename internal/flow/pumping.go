package flow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/store"
)

// The SMS-pumping guard (issue 16). Toll fraud asks codes for numbers
// whose carrier pays the attacker per message: premium-rate lines, or a
// whole range of one country's numbers, from many addresses, and never
// types a code. Four rules hold such sends back before a message goes
// out, each on its own option:
//
//   - number types: premium rate, shared cost, toll free and the like
//     never get an SMS;
//   - prefix velocity: at most LimitPrefix texts an hour per prefix (the
//     number without its last four digits) that nobody verified: a
//     verified code gives its slot back, so a busy office in one range is
//     never held back, and a pump, which never verifies, is;
//   - a conversion-rate breaker per prefix: a prefix with MinSends sends
//     in the window and fewer than MinVerified percent of them verified is
//     paused for PauseFor;
//   - the same breaker per country, where each prefix counts once: a
//     country is paused when MinSends of its prefixes were sent to and
//     fewer than MinVerified percent of those saw a code verified. One
//     pumped range is one unverified prefix among the country's many
//     verified ones, so a country where most visitors verify is never
//     caught by a few attacked prefixes; a pump spread over many prefixes
//     is.
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

// Pause scopes.
const (
	ScopePrefix  = "prefix"
	ScopeCountry = "country"
)

// Pumping is the guard's configuration. A nil *Pumping guards nothing.
type Pumping struct {
	Withhold    map[string]bool // phone.Type names that never get an SMS
	LimitPrefix int             // unverified texts per prefix per hour; 0: no limit
	MinSends    int             // sends (prefixes, per country) a breaker needs to judge; 0: no breaker
	MinVerified int             // the percentage verified below which a breaker trips
	Window      time.Duration   // the breakers' window
	PauseFor    time.Duration   // how long a tripped breaker pauses sends
	// Bypass reports numbers no guard holds back (allow, allow_file).
	Bypass func(e164 string) bool
	// Now is the breakers' clock; nil: the flow's.
	Now func() time.Time
}

// Pause is a tripped breaker: no SMS to Key (a prefix or a country)
// until Until. Sends and Verified are the window's figures when it tripped.
type Pause struct {
	Scope    string // ScopePrefix or ScopeCountry
	Key      string // "+44740012" or "GB"
	Until    time.Time
	Sends    int64
	Verified int64
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

// A window counter packs two counts in one integer, so that one atomic
// Incr counts an event and reads both: sends (or, per country, prefixes
// sent to) in the low 32 bits, verifications above.
const verifiedUnit = int64(1) << 32

type tally struct{ sends, verified int64 }

func unpack(n int64) tally { return tally{n & (verifiedUnit - 1), n >> 32} }

// bucket is the window a moment falls in, and how far into it it is
// (0 to 1). Windows are aligned to the clock, so a prefix's sends and its
// verifications, and the country's, fall in the same ones.
func (p *Pumping) bucket(t time.Time) (int64, float64) {
	w := p.Window.Nanoseconds()
	n := t.UnixNano()
	return n / w, float64(n%w) / float64(w)
}

// counterKey is the key of scope's window counter in bucket b.
func (f *Flow) counterKey(scope, key string, b int64) string {
	return f.k("pump", scope, strconv.FormatInt(b, 10), key)
}

func (f *Flow) pauseKey(scope, key string) string { return f.k("pause", scope, key) }

// count adds delta to scope's counter in the current window and returns
// the estimate for the last Window: the previous window's count, weighted
// by how much of it is still within Window, plus the current one's.
func (f *Flow) count(ctx context.Context, scope, key string, delta int64, t time.Time) (cur int64, est [2]float64, err error) {
	p := f.Pumping
	b, frac := p.bucket(t)
	n, _, err := f.Store.Incr(ctx, f.counterKey(scope, key, b), delta, 2*p.Window)
	if err != nil {
		return 0, est, err
	}
	prev, err := f.readCounter(ctx, f.counterKey(scope, key, b-1))
	if err != nil {
		return 0, est, err
	}
	c, pv := unpack(n), unpack(prev)
	w := 1 - frac
	est[0] = float64(c.sends) + w*float64(pv.sends)
	est[1] = math.Min(est[0], float64(c.verified)+w*float64(pv.verified))
	return n, est, nil
}

func (f *Flow) readCounter(ctx context.Context, key string) (int64, error) {
	v, _, err := f.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("counter %s: %w", key, err)
	}
	return n, nil
}

// trips reports whether a window's sends and verifications trip a breaker.
func (p *Pumping) trips(est [2]float64) bool {
	return p.MinSends > 0 && est[0] >= float64(p.MinSends) && est[1]*100 < float64(p.MinVerified)*est[0]
}

// paused reports whether scope is paused at t.
func (f *Flow) paused(ctx context.Context, scope, key string, t time.Time) (bool, error) {
	v, _, err := f.Store.Get(ctx, f.pauseKey(scope, key))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	pz, ok := decodePause(scope, key, v)
	return ok && t.Before(pz.Until), nil
}

// pause trips scope's breaker. Pauses are durable: a restart does not
// reopen a pumped range.
func (f *Flow) pause(ctx context.Context, scope, key string, t time.Time, est [2]float64) (*Pause, error) {
	pz := &Pause{Scope: scope, Key: key, Until: t.Add(f.Pumping.PauseFor),
		Sends: int64(math.Round(est[0])), Verified: int64(math.Round(est[1]))}
	val := fmt.Sprintf("%d %d %d", pz.Until.UnixMilli(), pz.Sends, pz.Verified)
	if err := store.Durably(f.Store).Set(ctx, f.pauseKey(scope, key), []byte(val), f.Pumping.PauseFor); err != nil {
		return nil, err
	}
	return pz, nil
}

func decodePause(scope, key string, v []byte) (Pause, bool) {
	var until, sends, verified int64
	if _, err := fmt.Sscanf(string(v), "%d %d %d", &until, &sends, &verified); err != nil {
		return Pause{}, false
	}
	return Pause{Scope: scope, Key: key, Until: time.UnixMilli(until), Sends: sends, Verified: verified}, true
}

// guard decides whether a send to e164 goes out. It returns the reason it
// is withheld ("" when it goes out), and the pause it set, if it tripped a
// breaker. Every count is one atomic store call; a store failure fails
// the send closed.
func (f *Flow) guard(ctx context.Context, e164 string) (string, *Pause, error) {
	p := f.Pumping
	if p == nil || (p.Bypass != nil && p.Bypass(e164)) {
		return "", nil, nil
	}
	if p.Withhold[phone.Type(e164)] {
		return ReasonNumberType, nil, nil
	}
	prefix, country := Prefix(e164), Country(e164)
	t := p.now(f)
	if p.MinSends > 0 {
		for _, s := range [...]struct{ scope, key, reason string }{
			{ScopePrefix, prefix, ReasonPrefixPaused}, {ScopeCountry, country, ReasonCountryPaused},
		} {
			if on, err := f.paused(ctx, s.scope, s.key, t); err != nil {
				return "", nil, err
			} else if on {
				return s.reason, nil, nil
			}
		}
		n, pe, err := f.count(ctx, ScopePrefix, prefix, 1, t)
		if err != nil {
			return "", nil, err
		}
		// The country counts a prefix once a window: at its first send.
		first := int64(0)
		if unpack(n).sends == 1 {
			first = 1
		}
		_, ce, err := f.count(ctx, ScopeCountry, country, first, t)
		if err != nil {
			return "", nil, err
		}
		if p.trips(pe) {
			pz, err := f.pause(ctx, ScopePrefix, prefix, t, pe)
			return ReasonPrefixPaused, pz, err
		}
		if p.trips(ce) {
			pz, err := f.pause(ctx, ScopeCountry, country, t, ce)
			return ReasonCountryPaused, pz, err
		}
	}
	if p.LimitPrefix > 0 {
		ok, _, err := f.Store.Hit(ctx, f.k("pv", prefix), int64(p.LimitPrefix), limitWindow, 0)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			return ReasonPrefixLimit, nil, nil
		}
	}
	return "", nil, nil
}

// verified counts a verified code: it gives its prefix's limit_prefix
// slot back, and counts for the breakers, for its prefix, and for its
// country the first one of the prefix in a window. Best effort: a store
// failure here must not undo a sign-in.
func (f *Flow) verified(ctx context.Context, e164 string) {
	p := f.Pumping
	if p == nil || (p.Bypass != nil && p.Bypass(e164)) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if p.LimitPrefix > 0 {
		f.Store.Unhit(ctx, f.k("pv", Prefix(e164)))
	}
	if p.MinSends == 0 {
		return
	}
	b, _ := p.bucket(p.now(f))
	n, _, err := f.Store.Incr(ctx, f.counterKey(ScopePrefix, Prefix(e164), b), verifiedUnit, 2*p.Window)
	if err == nil && unpack(n).verified == 1 {
		f.Store.Incr(ctx, f.counterKey(ScopeCountry, Country(e164), b), verifiedUnit, 2*p.Window)
	}
}

// Pauses returns the breakers that are tripped now.
func (f *Flow) Pauses(ctx context.Context) ([]Pause, error) {
	l, ok := f.Store.(store.Lister)
	if !ok {
		return nil, ErrCannotList
	}
	base := f.k("pause") + ":"
	keys, err := l.Keys(ctx, base)
	if err != nil {
		return nil, err
	}
	t := f.Now()
	if f.Pumping != nil {
		t = f.Pumping.now(f)
	}
	out := []Pause{}
	for _, k := range keys {
		scope, key, ok := strings.Cut(strings.TrimPrefix(k, base), ":")
		// Another issuer's keys can share the prefix: only ours parse.
		if !ok || CheckPauseKey(scope, key) != nil {
			continue
		}
		v, _, err := f.Store.Get(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if pz, ok := decodePause(scope, key, v); ok && t.Before(pz.Until) {
			out = append(out, pz)
		}
	}
	return out, nil
}

// Lift ends a pause and clears its windows, so that the breaker judges
// the prefix or country afresh from the next send on. It reports whether
// the pause was on.
func (f *Flow) Lift(ctx context.Context, scope, key string) (bool, error) {
	if err := CheckPauseKey(scope, key); err != nil {
		return false, err
	}
	t := f.Now()
	keys := []string{f.pauseKey(scope, key)}
	if p := f.Pumping; p != nil {
		t = p.now(f)
		b, _ := p.bucket(t)
		keys = append(keys, f.counterKey(scope, key, b), f.counterKey(scope, key, b-1))
	}
	on, err := f.paused(ctx, scope, key, t)
	if err != nil {
		return false, err
	}
	return on, f.Store.Delete(ctx, keys...)
}

// CheckPauseKey accepts a pause's scope and key: a prefix ('+' and
// digits) or a country (two capital letters, or ZZ).
func CheckPauseKey(scope, key string) error {
	switch scope {
	case ScopePrefix:
		if phone.LooksE164(key) {
			return nil
		}
		return errors.New("a prefix is '+' and digits: the number without its last four digits")
	case ScopeCountry:
		if len(key) == 2 && key[0] >= 'A' && key[0] <= 'Z' && key[1] >= 'A' && key[1] <= 'Z' {
			return nil
		}
		return errors.New("a country is an ISO 3166 alpha-2 code in capitals")
	}
	return fmt.Errorf("scope %q is neither %s nor %s", scope, ScopePrefix, ScopeCountry)
}
