package flow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/store"
)

// Pause scopes.
const (
	ScopePrefix  = "prefix"
	ScopeCountry = "country"
)

// Pause is a tripped breaker: no SMS to Key (a prefix, or the prefixes of
// a country whose codes expired unverified) until Until. The figures are
// the evidence it tripped on, over the breaker's window: Sends every send
// the guard counted, Networks the client networks they came from (each
// counted once a window; for a country, at most perPrefix a prefix),
// Verified the codes verified, Expired the sends whose code expired
// unverified. Codes still pending are in none of Verified and Expired.
type Pause struct {
	Scope    string // ScopePrefix or ScopeCountry
	Key      string // "+44740012" or "GB"
	Until    time.Time
	Sends    int64
	Networks int64
	Verified int64
	Expired  int64
}

func (f *Flow) pauseKey(scope, key string) string { return f.k("pause", scope, key) }

// paused reports whether scope is paused at t.
func (f *Flow) paused(ctx context.Context, scope, key string, t time.Time) (bool, error) {
	b := ops{get(f.pauseKey(scope, key))}
	f.run(ctx, b)
	return pausedOp(b[0], scope, key, t)
}

// pausedOp reads a Get of scope's pause: whether it is on at t.
func pausedOp(op store.Op, scope, key string, t time.Time) (bool, error) {
	if on, err := present(op); !on {
		return false, err
	}
	pz, ok := decodePause(scope, key, op.Out)
	return ok && t.Before(pz.Until), nil
}

// pause trips scope's breaker on evidence e at t: the pause, and the
// store call that keeps it. Pauses are durable: a restart does not
// reopen a pumped range.
func (f *Flow) pause(scope, key string, t time.Time, e evidence) (*Pause, store.Op) {
	round := func(x float64) int64 { return int64(math.Round(x)) }
	pz := &Pause{Scope: scope, Key: key, Until: t.Add(f.Pumping.PauseFor),
		Sends: round(e.sends), Networks: round(e.units), Verified: round(e.verifiedSettled()), Expired: round(e.expired())}
	val := fmt.Sprintf("%d %d %d %d %d", pz.Until.UnixMilli(), pz.Sends, pz.Verified, pz.Expired, pz.Networks)
	return pz, store.Op{Kind: store.OpSet, Key: f.pauseKey(scope, key), Val: []byte(val), TTL: f.Pumping.PauseFor, Durable: true}
}

// decodePause reads a pause; one written before the pause named its
// expired sends and networks has three figures.
func decodePause(scope, key string, v []byte) (Pause, bool) {
	pz := Pause{Scope: scope, Key: key}
	var until int64
	n, _ := fmt.Sscanf(string(v), "%d %d %d %d %d", &until, &pz.Sends, &pz.Verified, &pz.Expired, &pz.Networks)
	if n != 3 && n != 5 {
		return Pause{}, false
	}
	pz.Until = time.UnixMilli(until)
	return pz, true
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
		keys = append(keys, f.windowKey(scope, key, b), f.windowKey(scope, key, b-1))
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
