package flow

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

// A withheld number (allow, allow_file, countries) must answer like any
// other in time as well as in status, body, headers and cookies: were it
// answered at once while a real send waits for the gateway, timing alone
// would tell which numbers are allowed. So the flow imitates a real send
// for it: it waits as long as one of the provider's recent real sends took,
// ends as the latest real send ended, and charges limit_global as that
// send did. Under a provider that checks codes itself, each verify of a
// withheld challenge imitates a real check the same way. An outage of the
// provider then answers withheld numbers 502 too, as it answers allowed
// ones.
//
// A withheld verify imitates the check that the provider which would have
// sent the code makes, not what the provider as a whole does: a site may
// mix one that checks its own codes with one that uses phone_otp's (a
// `call` provider, failover members), and a real text's wrong code then
// waits for the remote check while a call's, or a withheld number's
// compared here, would not. So every real send records who checks the code
// it delivered (Checks), per channel, and a withheld send's challenge
// copies the one it imitates: the remote checker's time, and its refusal
// of a verification's checks past its limit (Twilio Verify's fifth,
// sms.CheckLimiter), at the same count.
//
// Only what concerns the provider as a whole is imitated (providerWide):
// a gateway's refusal of one number says nothing of the others, and
// copying it would let a visitor who can make the gateway refuse a number
// (on this site or, were the record shared, on another) tell withheld
// numbers from allowed ones. The record belongs to one protection domain
// and one provider config.

// Recent is what one domain's provider did lately. The instrumented
// provider (metrics.go in the module root) records the real calls in it;
// handlers of one domain and provider config share one (sharedRecent).
type Recent struct {
	// Sends are the texts; Checks the `sms` provider's checks of codes
	// it made.
	Sends, Checks Calls
	// Voice are the sends made by call ("Call me instead"), which take
	// their own time: a withheld number's call imitates these.
	Voice Calls
	// CallChecks are the `call` provider's checks of codes it made.
	CallChecks Calls
}

// checks are the recent checks of checker.
func (r *Recent) checks(c Checker) *Calls {
	if c == CheckedByCall {
		return &r.CallChecks
	}
	return &r.Checks
}

// Checker names who checks the code a send delivered. Its values are the
// tags of a withheld challenge's record (code.go), so keep them apart.
type Checker byte

const (
	// CheckedHere: phone_otp made the code and compares it.
	CheckedHere Checker = 0
	// CheckedBySMS: the `sms` provider made the code and checks it
	// (Recent.Checks).
	CheckedBySMS Checker = 'w'
	// CheckedByCall: the `call` provider made the code and checks it
	// (Recent.CallChecks).
	CheckedByCall Checker = 'v'
)

// Checks says who checks the code a real send delivered, and the
// checker's limit (sms.CheckLimit): Limit checks of one verification,
// which lasts Lifetime from its start; 0: no limit.
type Checks struct {
	By       Checker
	Limit    int
	Lifetime time.Duration
}

// Calls are the provider's latest real calls of one kind: how long
// each took and how it ended.
type Calls struct {
	mu      sync.Mutex
	samples [32]callSample
	n       int // calls recorded in all; the latest is samples[(n-1)%len]
}

type callSample struct {
	took     time.Duration
	err      error
	attempts int    // gateway calls a send made (sms.Result.Attempts)
	checks   Checks // a send's: who checks the code it delivered
}

// Record keeps a real call's outcome, if it says something of the
// provider as a whole (see providerWide).
func (s *Calls) Record(took time.Duration, attempts int, err error) {
	s.RecordSend(took, attempts, err, Checks{})
}

// RecordSend is Record for a send, with who checks the code it delivered.
func (s *Calls) RecordSend(took time.Duration, attempts int, err error, checks Checks) {
	if !providerWide(err) {
		return
	}
	s.mu.Lock()
	s.samples[s.n%len(s.samples)] = callSample{took, err, attempts, checks}
	s.n++
	s.mu.Unlock()
}

// pick is the call to imitate: the latest one's outcome, and the time,
// attempts and checker of a random recent call with that outcome (an
// outage's calls fail faster or slower than good ones; a failover's
// sends that its first member took are checked as that member checks,
// those it passed on as the next one does). ok is false before any real
// call.
func (s *Calls) pick() (sample callSample, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return callSample{}, false
	}
	latest := s.samples[(s.n-1)%len(s.samples)]
	var same []callSample
	for _, x := range s.samples[:min(s.n, len(s.samples))] {
		if (x.err == nil) == (latest.err == nil) {
			same = append(same, x)
		}
	}
	x := same[rand.IntN(len(same))]
	return callSample{took: x.took, err: latest.err, attempts: x.attempts, checks: x.checks}, true
}

// providerWide reports whether a real call's outcome would be the same for
// any phone: a success, an outcome the provider left unknown (a timeout, a
// reset, a 5xx), or a gateway that could not be reached. A definite
// refusal (a 4xx, a refusal in a 2xx answer, input refused before any
// call) may concern this phone alone, so it is never imitated. The cost:
// a refusal of every phone, such as bad credentials, answers allowed
// numbers 502 and withheld ones as the last good call did; that is an
// admin's mistake, which codes_failed_total and the log show at once.
// For failover, a failure is provider-wide only if each member's is.
func providerWide(err error) bool {
	if err == nil {
		return true
	}
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		for _, e := range multi.Unwrap() {
			if !providerWide(e) {
				return false
			}
		}
		return true
	}
	if !sms.Definite(err) {
		return true
	}
	var oe *net.OpError
	var dns *net.DNSError
	return (errors.As(err, &oe) && oe.Op == "dial") || errors.As(err, &dns)
}

// coldStart bounds the wait of a withheld send or check before the
// provider has made any real one (since start; a reload keeps the
// samples): a typical SMS API's answer time, as no better one is known
// yet.
const coldStartMin, coldStartMax = 250 * time.Millisecond, time.Second

// imitate waits and ends like a real call of calls would (see above), and
// returns the call it imitated. The error it returns wraps the imitated
// call's, so that refunds and logs treat both alike.
func (f *Flow) imitate(ctx context.Context, calls *Calls) (callSample, error) {
	s, ok := calls.pick()
	if !ok {
		s.took = coldStartMin + rand.N(coldStartMax-coldStartMin)
		s.checks = f.coldChecks()
	}
	if err := f.Wait(ctx, s.took); err != nil {
		return s, fmt.Errorf("withheld number: %w", err)
	}
	if s.err != nil {
		return s, fmt.Errorf("withheld number, answered as the latest real call failed: %w", s.err)
	}
	return s, nil
}

// coldChecks is who checks a code before any real send showed it: the
// provider as a whole, if it checks every code itself.
func (f *Flow) coldChecks() Checks {
	rc, ok := f.remote()
	if !ok {
		return Checks{}
	}
	n, life := sms.CheckLimit(rc, "")
	return Checks{By: CheckedBySMS, Limit: n, Lifetime: life}
}

// imitateSend imitates a real send on channel (see above): a text, or
// a call. It returns the gateway calls it made, and who checks the code
// the imitated send delivered.
func (f *Flow) imitateSend(ctx context.Context, channel string) (attempts int, checks Checks, err error) {
	if f.Recent == nil || f.Wait == nil {
		// No imitation: as before the record of real sends, the provider
		// as a whole says who checks.
		return 0, f.coldChecks(), nil
	}
	calls := &f.Recent.Sends
	if channel == sms.ChannelCall {
		calls = &f.Recent.Voice
	}
	s, err := f.imitate(ctx, calls)
	return s.attempts, s.checks, err
}

// imitateCheck imitates a real remote check of a wrong code for the
// withheld challenge ch, whose record says which checker to copy: it
// waits and ends as that checker's recent checks did, then refuses as
// the checker refuses a verification's checks past its limit. Like the
// provider, it counts the checks it answered per phone for the
// verification's lifetime, resends included; the count starts with the
// challenge's send, as the provider's verification did.
func (f *Flow) imitateCheck(ctx context.Context, ch Challenge, cr codeRecord) error {
	if f.Recent == nil || f.Wait == nil {
		return nil
	}
	if _, err := f.imitate(ctx, f.Recent.checks(cr.imitate)); err != nil {
		return err
	}
	if cr.limit == 0 {
		return nil
	}
	since := f.Now().Sub(ch.Expires.Add(-f.CodeTTL))
	ttl := min(max(cr.lifetime-since, time.Second), cr.lifetime)
	// Durable, as the provider's count survives a restart of Caddy. A
	// store failure answers as a check within the limit: the challenge
	// can never verify, so nothing opens.
	n, _, err := store.Durably(f.Store).Incr(context.WithoutCancel(ctx), f.k("wchk", ch.Phone), 1, ttl)
	if err == nil && n > int64(cr.limit) {
		return fmt.Errorf("withheld number, answered as the provider refuses check %d of a verification: %w", n, sms.ErrTooManyChecks)
	}
	return nil
}

// Sleep waits d, or until ctx ends: the Wait of a flow that serves.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
