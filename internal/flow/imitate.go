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
	Sends, Checks Calls
	// Voice are the sends made by call ("Call me instead"), which take
	// their own time: a withheld number's call imitates these.
	Voice Calls
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
	attempts int // gateway calls a send made (sms.Result.Attempts)
}

// Record keeps a real call's outcome, if it says something of the
// provider as a whole (see providerWide).
func (s *Calls) Record(took time.Duration, attempts int, err error) {
	if !providerWide(err) {
		return
	}
	s.mu.Lock()
	s.samples[s.n%len(s.samples)] = callSample{took, err, attempts}
	s.n++
	s.mu.Unlock()
}

// pick is the call to imitate: the latest one's outcome, and the time and
// attempts of a random recent call with that outcome (an outage's calls
// fail faster or slower than good ones). ok is false before any real call.
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
	return callSample{took: x.took, err: latest.err, attempts: x.attempts}, true
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
// returns the gateway calls it made. The error it returns wraps the
// imitated call's, so that refunds and logs treat both alike.
func (f *Flow) imitate(ctx context.Context, calls *Calls) (attempts int, err error) {
	s, ok := calls.pick()
	if !ok {
		s.took = coldStartMin + rand.N(coldStartMax-coldStartMin)
	}
	if err := f.Wait(ctx, s.took); err != nil {
		return 0, fmt.Errorf("withheld number: %w", err)
	}
	if s.err != nil {
		return s.attempts, fmt.Errorf("withheld number, answered as the latest real call failed: %w", s.err)
	}
	return s.attempts, nil
}

// imitateSend imitates a real send on channel (see above): a text, or
// a call.
func (f *Flow) imitateSend(ctx context.Context, channel string) (attempts int, err error) {
	if f.Recent == nil || f.Wait == nil {
		return 0, nil
	}
	if channel == sms.ChannelCall {
		return f.imitate(ctx, &f.Recent.Voice)
	}
	return f.imitate(ctx, &f.Recent.Sends)
}

// imitateCheck imitates a real remote check of a wrong code.
func (f *Flow) imitateCheck(ctx context.Context) error {
	if f.Recent == nil || f.Wait == nil {
		return nil
	}
	_, err := f.imitate(ctx, &f.Recent.Checks)
	return err
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
