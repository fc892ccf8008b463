package caddyotp

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/phone"
)

// PumpingOptions are the options of the SMS-pumping guard
// (internal/flow/pumping.go, docs/pumping.md), on by default. Handler
// embeds them, so in JSON they sit beside the other options.
type PumpingOptions struct {
	// Number types that never get an SMS; they get the "sent" answer all
	// the same. Any of premium_rate, shared_cost, toll_free, uan, pager,
	// voicemail, personal_number and voip, or `none`. Default: all of them
	// but voip. allow, allow_file and users_file numbers get their SMS
	// whatever type.
	WithholdTypes []string `json:"withhold_types,omitempty"`

	// `enforce` (the default) or `monitor`. In monitor mode every rule
	// judges, counts, pauses, logs, emits its events and metrics exactly
	// as it would, but nothing is withheld: the audit line of a send the
	// guard would have held back says `flagged` and why. How an admin
	// rolls the guard out and tunes it.
	Mode string `json:"pumping,omitempty"`

	// Codes texted per prefix (the number without its last four digits)
	// per breaker_window and not verified (a verified code gives its
	// slot back); sends past it are withheld. A client network (Caddy's
	// client IP; an IPv6 /64 as one) takes at most one slot a window: its
	// further sends to the prefix go out while a slot is free and take
	// none, so filling a prefix's slots takes as many networks. -1 (`off`
	// in the Caddyfile): no limit. Default: 10.
	LimitPrefix int `json:"limit_prefix,omitempty"`

	// The settled sends a breaker needs in breaker_window before it
	// judges: it then pauses the prefix or country if fewer than
	// breaker_verified percent of them were verified. A send is settled
	// once its code was verified or expired unverified: a code not typed
	// yet is not a failure. Each client network counts once a window per
	// prefix, and once per country (a prefix giving at most three), so
	// tripping a breaker takes this many networks. A country needs at least 5% of its
	// busiest day's verified codes over the last week, if that is more.
	// -1 (`off`): no breaker. Default: 20.
	BreakerSends int `json:"breaker_sends,omitempty"`

	// The percentage of verified sends below which a breaker trips, 1 to
	// 100. Default: 20.
	BreakerVerified int `json:"breaker_verified,omitempty"`

	// The window the breakers count in, 1m to 24h. Default: 1h.
	BreakerWindow caddy.Duration `json:"breaker_window,omitempty"`

	// How long a tripped breaker pauses sends to its prefix, or to the
	// prefixes of its country whose codes expired unverified in the last
	// breaker_window (and where nobody verified within trust_verified); the
	// admin API lifts a pause sooner. At least 1m. Default: 12h.
	PauseFor caddy.Duration `json:"pause_for,omitempty"`

	// How long a phone that verified a code here passes every rule of
	// the guard, as an allowlisted one does (kept as a keyed hash, in the
	// store, durably), so that a pause only ever holds back numbers that
	// never signed in; a phone sent three codes in a row that it did not
	// verify is judged like any other until it verifies again. -1 (`off`):
	// no phone passes. Default: 90d.
	TrustVerified caddy.Duration `json:"trust_verified,omitempty"`
}

const (
	defaultLimitPrefix     = 10
	defaultBreakerSends    = 20
	defaultBreakerVerified = 20
	defaultBreakerWindow   = time.Hour
	defaultPauseFor        = 12 * time.Hour
	defaultTrustVerified   = 90 * 24 * time.Hour
	pumpingOff             = -1 // limit_prefix, breaker_sends, trust_verified: off
	withholdNone           = "none"
	modeEnforce            = "enforce"
	modeMonitor            = "monitor"
)

// defaultWithholdTypes are the types that cannot or should not get a code.
var defaultWithholdTypes = []string{"premium_rate", "shared_cost", "toll_free", "uan", "pager", "voicemail", "personal_number"}

func (o *PumpingOptions) setDefaults() {
	if o.WithholdTypes == nil {
		o.WithholdTypes = slices.Clone(defaultWithholdTypes)
	}
	if o.LimitPrefix == 0 {
		o.LimitPrefix = defaultLimitPrefix
	}
	if o.BreakerSends == 0 {
		o.BreakerSends = defaultBreakerSends
	}
	if o.BreakerVerified == 0 {
		o.BreakerVerified = defaultBreakerVerified
	}
	if o.BreakerWindow == 0 {
		o.BreakerWindow = caddy.Duration(defaultBreakerWindow)
	}
	if o.PauseFor == 0 {
		o.PauseFor = caddy.Duration(defaultPauseFor)
	}
	if o.TrustVerified == 0 {
		o.TrustVerified = caddy.Duration(defaultTrustVerified)
	}
	if o.Mode == "" {
		o.Mode = modeEnforce
	}
}

func (o *PumpingOptions) validate() error {
	checks := []struct {
		name string
		err  error
	}{
		{"withhold_types", checkWithholdTypes(o.WithholdTypes)},
		{"limit_prefix", checkOffOrAtLeast(o.LimitPrefix, 1)},
		{"breaker_sends", checkOffOrAtLeast(o.BreakerSends, 1)},
		{"breaker_verified", checkIntRange(o.BreakerVerified, 1, 100)},
		{"breaker_window", checkDurRange(time.Duration(o.BreakerWindow), time.Minute, 24*time.Hour)},
		{"pause_for", checkDurRange(time.Duration(o.PauseFor), time.Minute, 0)},
		{"trust_verified", checkTrust(time.Duration(o.TrustVerified))},
		{"pumping", checkMode(o.Mode)},
	}
	for _, c := range checks {
		if c.err != nil {
			return fmt.Errorf("%s: %w", c.name, c.err)
		}
	}
	return nil
}

func checkOffOrAtLeast(n, lo int) error {
	if n == pumpingOff {
		return nil
	}
	return checkIntRange(n, lo, 0)
}

func checkTrust(d time.Duration) error {
	if d == pumpingOff {
		return nil
	}
	return checkDurRange(d, time.Hour, 0)
}

func checkMode(m string) error {
	if m != modeEnforce && m != modeMonitor {
		return fmt.Errorf("%q is neither %s nor %s", m, modeEnforce, modeMonitor)
	}
	return nil
}

func checkWithholdTypes(types []string) error {
	if slices.Contains(types, withholdNone) {
		if len(types) > 1 {
			return errors.New("none cannot be combined with types")
		}
		return nil
	}
	for _, t := range types {
		if !slices.Contains(phone.Withholdable, t) {
			return fmt.Errorf("%q is not a number type; use %s, or none", t, strings.Join(phone.Withholdable, ", "))
		}
	}
	return nil
}

// pumpingGuard is the flow's guard for these options. The numbers the
// site lists itself bypass it: allow, allow_file, and users_file's (whose
// phone the client never chooses).
func (h *Handler) pumpingGuard(policy phone.Policy) *flow.Pumping {
	o := &h.PumpingOptions
	listed := make(map[string]bool, len(h.users))
	for _, p := range h.users {
		listed[p] = true
	}
	g := &flow.Pumping{
		Withhold: map[string]bool{}, LimitPrefix: max(o.LimitPrefix, 0), MinSends: max(o.BreakerSends, 0),
		MinVerified: o.BreakerVerified, Window: time.Duration(o.BreakerWindow), PauseFor: time.Duration(o.PauseFor),
		Trust: max(time.Duration(o.TrustVerified), 0), Monitor: o.Mode == modeMonitor,
		Bypass: func(e164 string) bool { return listed[e164] || policy.Listed(e164) }, Now: h.pumpingNow,
	}
	for _, t := range o.WithholdTypes {
		if t != withholdNone {
			g.Withhold[t] = true
		}
	}
	return g
}

// unmarshalPumping parses the guard's Caddyfile options, and reports
// whether opt is one of them:
//
//	pumping         enforce | monitor
//	withhold_types  premium_rate shared_cost toll_free uan pager voicemail personal_number [voip] | none
//	limit_prefix    10 | off
//	breaker_sends   20 | off
//	breaker_verified 20%
//	breaker_window  1h
//	pause_for       12h
//	trust_verified  90d | off
func (o *PumpingOptions) unmarshalPumping(d *caddyfile.Dispenser, opt string) (bool, error) {
	switch opt {
	case "withhold_types":
		args := d.RemainingArgs()
		if len(args) == 0 {
			return true, argErr(d, opt)
		}
		if err := checkWithholdTypes(args); err != nil {
			return true, d.Errf("%s: %v", opt, err)
		}
		o.WithholdTypes = args
	case "limit_prefix", "breaker_sends":
		dst := &o.LimitPrefix
		if opt == "breaker_sends" {
			dst = &o.BreakerSends
		}
		if d.CountRemainingArgs() == 1 && d.NextArg() {
			if d.Val() == "off" {
				*dst = pumpingOff
				return true, nil
			}
			d.Prev()
		}
		return true, oneInt(d, dst, 1, 0)
	case "breaker_verified":
		if d.CountRemainingArgs() != 1 || !d.NextArg() {
			return true, argErr(d, opt)
		}
		n, err := strconv.Atoi(strings.TrimSuffix(d.Val(), "%"))
		if err != nil {
			return true, d.Errf("%s: %q is not a percentage", opt, d.Val())
		}
		if err := checkIntRange(n, 1, 100); err != nil {
			return true, d.Errf("%s: %v", opt, err)
		}
		o.BreakerVerified = n
	case "breaker_window":
		return true, oneDuration(d, &o.BreakerWindow, time.Minute, 24*time.Hour)
	case "pause_for":
		return true, oneDuration(d, &o.PauseFor, time.Minute, 0)
	case "trust_verified":
		if d.CountRemainingArgs() == 1 && d.NextArg() {
			if d.Val() == "off" {
				o.TrustVerified = pumpingOff
				return true, nil
			}
			d.Prev()
		}
		return true, oneDuration(d, &o.TrustVerified, time.Hour, 0)
	case "pumping":
		if d.CountRemainingArgs() != 1 || !d.NextArg() {
			return true, argErr(d, opt)
		}
		if err := checkMode(d.Val()); err != nil {
			return true, d.Errf("%s: %v", opt, err)
		}
		o.Mode = d.Val()
	default:
		return false, nil
	}
	return true, nil
}
