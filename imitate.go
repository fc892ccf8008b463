package caddyotp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/caddyotp/caddyotp/sms"
)

// A withheld number (allow, allow_file, countries) must answer like any
// other in time as well as in status, body, headers and cookies: were it
// answered at once while a real send waits for the gateway, timing alone
// would tell which numbers are allowed. So the flow imitates a real send
// for it: it waits as long as one of the provider's recent real sends took,
// and ends as the latest real send ended. An outage of the provider then
// answers withheld numbers 502 too, as it answers allowed ones.

// recentSends are the provider's latest real sends: how long each took and
// how it ended. The instrumented provider (metrics.go) records them.
type recentSends struct {
	mu      sync.Mutex
	samples [32]sendSample
	n       int // sends recorded in all; the latest is samples[(n-1)%len]
}

type sendSample struct {
	took time.Duration
	err  error
}

func (s *recentSends) record(took time.Duration, err error) {
	s.mu.Lock()
	s.samples[s.n%len(s.samples)] = sendSample{took, err}
	s.n++
	s.mu.Unlock()
}

// pick is the send to imitate: the latest one's outcome, and the time of
// a random recent send with that outcome (an outage's sends fail faster or
// slower than good ones). ok is false before any real send.
func (s *recentSends) pick() (sample sendSample, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return sendSample{}, false
	}
	latest := s.samples[(s.n-1)%len(s.samples)]
	var same []sendSample
	for _, x := range s.samples[:min(s.n, len(s.samples))] {
		if (x.err == nil) == (latest.err == nil) {
			same = append(same, x)
		}
	}
	took := same[rand.IntN(len(same))].took
	return sendSample{took: took, err: latest.err}, true
}

// coldStart bounds the wait of a withheld send before the provider has
// made any real send (since start; a reload keeps the samples): a
// typical SMS API's answer time, as no better one is known yet.
const coldStartMin, coldStartMax = 250 * time.Millisecond, time.Second

// imitateSend waits and ends like a real send would (see above). The
// error it returns wraps the imitated send's, so that refunds and logs
// treat both alike.
func (f *flow) imitateSend(ctx context.Context) error {
	if f.sends == nil || f.wait == nil {
		return nil
	}
	s, ok := f.sends.pick()
	if !ok {
		s.took = coldStartMin + rand.N(coldStartMax-coldStartMin)
	}
	if err := f.wait(ctx, s.took); err != nil {
		return fmt.Errorf("withheld number: %w", err)
	}
	if s.err != nil {
		return fmt.Errorf("withheld number, answered as the latest real send failed: %w", s.err)
	}
	return nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
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

// sharedRecent is the record of the handler that h replaces at a reload
// (same issuer and provider), so that a reload does not start cold; else
// a new one.
func sharedRecent(h *Handler) *recentSends {
	for _, o := range slices.Backward(live.get(h.Issuer)) {
		if o.recent != nil && o.smsName == h.smsName {
			return o.recent
		}
	}
	return new(recentSends)
}

// recordSends makes p, as instrument returned it, record its sends in r.
func recordSends(p sms.Provider, r *recentSends) {
	switch i := p.(type) {
	case *instrumented:
		i.recent = r
	case *instrumentedRemote:
		i.recent = r
	}
}
