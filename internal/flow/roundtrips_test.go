package flow

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

// tripStore counts the round trips a store that batches (Redis) would
// make for the calls it sees: one per Batch, one per method called alone.
// It stands in front of a real store, which does the work.
type tripStore struct {
	store.Store
	n *atomic.Int64
}

func (s tripStore) Batch(ctx context.Context, ops []store.Op) error {
	s.n.Add(1)
	return store.Batch(ctx, s.Store, ops)
}

// Durable keeps counting through the durable view.
func (s tripStore) Durable() store.Store { return tripStore{store.Durably(s.Store), s.n} }

func (s tripStore) Get(ctx context.Context, key string) ([]byte, time.Duration, error) {
	s.n.Add(1)
	return s.Store.Get(ctx, key)
}

func (s tripStore) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	s.n.Add(1)
	return s.Store.Set(ctx, key, val, ttl)
}

func (s tripStore) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, time.Duration, error) {
	s.n.Add(1)
	return s.Store.SetNX(ctx, key, val, ttl)
}

func (s tripStore) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, time.Duration, error) {
	s.n.Add(1)
	return s.Store.Incr(ctx, key, delta, ttl)
}

func (s tripStore) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	s.n.Add(1)
	return s.Store.CompareAndDelete(ctx, key, val)
}

func (s tripStore) Delete(ctx context.Context, keys ...string) error {
	s.n.Add(1)
	return s.Store.Delete(ctx, keys...)
}

func (s tripStore) Hit(ctx context.Context, key string, limit int64, window, gap time.Duration) (bool, time.Duration, error) {
	s.n.Add(1)
	return s.Store.Hit(ctx, key, limit, window, gap)
}

func (s tripStore) Unhit(ctx context.Context, key string) error {
	s.n.Add(1)
	return s.Store.Unhit(ctx, key)
}

func (s tripStore) Attach(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	s.n.Add(1)
	return s.Store.Attach(ctx, key, val, ttl)
}

func (s tripStore) Attached(ctx context.Context, key string) ([]byte, time.Duration, error) {
	s.n.Add(1)
	return s.Store.Attached(ctx, key)
}

func (s tripStore) Detach(ctx context.Context, key string, val []byte) (bool, error) {
	s.n.Add(1)
	return s.Store.Detach(ctx, key, val)
}

// tripSMS records, at each send, how many round trips the send had made:
// its decision's.
type tripSMS struct {
	*fakeSMS
	n       *atomic.Int64
	decided int64
}

func (s *tripSMS) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	s.decided = s.n.Load()
	return s.fakeSMS.Send(ctx, m)
}

// tripFlow is pumpFlow (the guard at its defaults) on a store whose
// round trips are counted, and the real store behind it.
func tripFlow(c *clock) (*Flow, *tripSMS, *atomic.Int64, store.Store) {
	f, s := pumpFlow(c)
	n := new(atomic.Int64)
	ts := &tripSMS{fakeSMS: s, n: n}
	real := f.Store
	f.Store, f.Sender = tripStore{real, n}, ts
	return f, ts, n, real
}

// trips runs do and returns the round trips it made.
func trips(n *atomic.Int64, do func()) int64 {
	before := n.Load()
	do()
	return n.Load() - before
}

// A send's decision is at most two round trips (reads, takes), and the
// code one more; a verify is at most two; refusals at most one more, to
// take back what they took. Each case counts from a fresh start of its
// own, and checks that the answer is the one the rules give.
func TestRoundTripsSend(t *testing.T) {
	ctx := context.Background()
	const gb = "+447400123456"
	type result struct {
		trips, decided int64
		sent           Sent
		err            error
	}
	send := func(f *Flow, s *tripSMS, n *atomic.Int64, phone, ip string) result {
		s.decided = -1
		var r result
		r.trips = trips(n, func() { r.sent, r.err = f.Send(ctx, phone, ip, "h") })
		if s.decided >= 0 {
			r.decided = s.decided - (n.Load() - r.trips)
		}
		return r
	}
	check := func(t *testing.T, r result, wantTrips int64, wantKind Kind) {
		t.Helper()
		if k := refusalKind(r.err); k != wantKind {
			t.Fatalf("kind %v (%v), want %v", k, r.err, wantKind)
		}
		if r.trips != wantTrips {
			t.Errorf("%d round trips, want %d", r.trips, wantTrips)
		}
		if r.decided > 2 {
			t.Errorf("the decision took %d round trips before the provider call, want at most 2", r.decided)
		}
	}

	t.Run("new visitor", func(t *testing.T) {
		f, s, n, _ := tripFlow(newClock())
		r := send(f, s, n, gb, ipA)
		check(t, r, 3, 0)
		if r.decided != 2 || r.sent.Withheld {
			t.Errorf("decided in %d, withheld %v", r.decided, r.sent.Withheld)
		}
	})

	t.Run("known visitor", func(t *testing.T) {
		c := newClock()
		f, s, n, _ := tripFlow(c)
		first := send(f, s, n, gb, ipA)
		if err := f.Verify(ctx, first.sent.Challenge, s.Last(t).Code); err != nil {
			t.Fatal(err)
		}
		c.Step(time.Minute)
		r := send(f, s, n, gb, ipA)
		check(t, r, 3, 0)
		if r.sent.Withheld || r.sent.Challenge.ID == first.sent.Challenge.ID {
			t.Errorf("a known visitor's code: withheld %v", r.sent.Withheld)
		}
	})

	t.Run("a send that trips a pause, then one that meets it", func(t *testing.T) {
		c := newClock()
		f, s, n, _ := tripFlow(c)
		f.Pumping.LimitPrefix = 0
		for i := range 20 {
			send(f, s, n, fmt.Sprintf("+44740012%04d", 5000+i), network(i))
		}
		settle(c, f)
		r := send(f, s, n, "+447400125020", network(20))
		check(t, r, 3, 0)
		if r.sent.Reason != ReasonPrefixPaused || r.sent.Paused == nil {
			t.Fatalf("reason %q, pause %v", r.sent.Reason, r.sent.Paused)
		}
		r = send(f, s, n, "+447400125021", network(21))
		check(t, r, 3, 0)
		if r.sent.Reason != ReasonPrefixPaused || r.sent.Paused != nil {
			t.Fatalf("during the pause: reason %q, pause %v", r.sent.Reason, r.sent.Paused)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			setup func(f *Flow)
			first func(f *Flow, s *tripSMS, n *atomic.Int64) // what comes before
			phone string
			limit string
		}{
			{"ip", func(f *Flow) { f.LimitIP = 1 }, func(f *Flow, s *tripSMS, n *atomic.Int64) { send(f, s, n, phoneB, ipA) }, gb, "ip"},
			{"phone", func(f *Flow) { f.LimitPhone, f.ResendAfter = 1, 0 }, func(f *Flow, s *tripSMS, n *atomic.Int64) { send(f, s, n, gb, "192.0.2.77") }, gb, "phone"},
			{"resend", nil, func(f *Flow, s *tripSMS, n *atomic.Int64) { send(f, s, n, gb, "192.0.2.77") }, gb, "resend"},
			{"global", func(f *Flow) { f.LimitGlobal = 1 }, func(f *Flow, s *tripSMS, n *atomic.Int64) { send(f, s, n, phoneB, "192.0.2.77") }, gb, "global"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f, s, n, real := tripFlow(newClock())
				if tc.setup != nil {
					tc.setup(f)
				}
				tc.first(f, s, n)
				before := windows(t, real, f, tc.phone)
				r := send(f, s, n, tc.phone, ipA)
				check(t, r, 3, RateLimited)
				var ref *Refusal
				if errors.As(r.err, &ref); ref.Limit != tc.limit || ref.Again {
					t.Errorf("limit %q (again %v), want %q", ref.Limit, ref.Again, tc.limit)
				}
				// Nothing of anyone else's budget stays spent, nor
				// anything counted for the guard.
				if after := windows(t, real, f, tc.phone); after != before {
					t.Errorf("windows %v after the refusal, %v before", after, before)
				}
				if tc.limit == "ip" {
					r := send(f, s, n, "+447400123457", ipA)
					check(t, r, 1, RateLimited)
					if errors.As(r.err, &ref); !ref.Again || ref.Limit != "ip" {
						t.Errorf("the next send from the address: %+v, want refused again", ref)
					}
				}
			})
		}
	})

	t.Run("blocked", func(t *testing.T) {
		f, s, n, real := tripFlow(newClock())
		if err := real.Set(ctx, f.k("block", gb), []byte{1}, time.Hour); err != nil {
			t.Fatal(err)
		}
		before := windows(t, real, f, gb)
		check(t, send(f, s, n, gb, ipA), 1, Blocked)
		if after := windows(t, real, f, gb); after != before {
			t.Errorf("a blocked phone's send counted: %v, %v before", after, before)
		}
	})

	t.Run("provider fails", func(t *testing.T) {
		f, s, n, _ := tripFlow(newClock())
		s.Fail = &sms.Error{Provider: "fake", Op: "send", Status: 400}
		r := send(f, s, n, gb, ipA)
		check(t, r, 3, SMSFailed)
	})
}

// windows are the counts a send to phone takes in the limits' windows and
// the guard's, as one string.
func windows(t *testing.T, st store.Store, f *Flow, phone string) string {
	t.Helper()
	wr := st.(store.WindowReader)
	var out string
	for _, k := range []string{f.k("i", ipA), f.k("p", phone), f.k("g"), f.k("pv", Prefix(phone))} {
		n, _, err := wr.Window(context.Background(), k)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		out += fmt.Sprintf("%s=%d ", k, n)
	}
	b, _ := f.Pumping.bucket(f.Pumping.now(f))
	for _, k := range []string{f.windowKey(ScopePrefix, Prefix(phone), b), f.windowKey(ScopeCountry, Country(phone), b),
		f.k("pn", ScopePrefix, Prefix(phone), ipKey(ipA))} {
		v, _, err := st.Get(context.Background(), k)
		n, err := counter(store.Op{Key: k, Out: v, Err: err})
		if err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintf("%s=%d ", k, n) // absent is 0: a zero counter left by a take given back is none
	}
	return out
}

func TestRoundTripsVerify(t *testing.T) {
	ctx := context.Background()
	const gb = "+447400123456"
	start := func(t *testing.T) (*Flow, *tripSMS, *atomic.Int64, store.Store, *clock, Sent) {
		c := newClock()
		f, s, n, real := tripFlow(c)
		sent, err := f.Send(ctx, gb, ipA, "h")
		if err != nil {
			t.Fatal(err)
		}
		return f, s, n, real, c, sent
	}
	verify := func(t *testing.T, f *Flow, n *atomic.Int64, ch Challenge, code string, wantTrips int64, wantKind Kind) {
		t.Helper()
		var err error
		got := trips(n, func() { err = f.Verify(ctx, ch, code) })
		if k := refusalKind(err); k != wantKind {
			t.Fatalf("kind %v (%v), want %v", k, err, wantKind)
		}
		if got != wantTrips {
			t.Errorf("%d round trips, want %d", got, wantTrips)
		}
	}
	attempts := func(t *testing.T, f *Flow, real store.Store) string {
		t.Helper()
		v, _, err := real.Get(ctx, f.k("att", gb))
		if errors.Is(err, store.ErrNotFound) {
			return "0"
		}
		return string(v)
	}

	t.Run("right code", func(t *testing.T) {
		f, s, n, real, _, sent := start(t)
		verify(t, f, n, sent.Challenge, s.Last(t).Code, 2, 0)
		if a := attempts(t, f, real); a != "0" {
			t.Errorf("attempts %s after a right code", a)
		}
		// The guard counted it: the phone is known, the slot given back.
		if v, _, err := real.Get(ctx, f.knownPhoneKey(gb)); err != nil || string(v) != "0" {
			t.Errorf("known phone: %q %v", v, err)
		}
		if w, _, _ := real.(store.WindowReader).Window(ctx, f.k("pv", Prefix(gb))); w != 0 {
			t.Errorf("limit_prefix holds %d slots after the verified code, want 0", w)
		}
		verify(t, f, n, sent.Challenge, s.Last(t).Code, 2, Expired) // used up: its attempt given back
	})

	t.Run("wrong code", func(t *testing.T) {
		f, s, n, real, _, sent := start(t)
		wrong := wrongCode(s.Last(t).Code)
		verify(t, f, n, sent.Challenge, wrong, 1, InvalidCode)
		verify(t, f, n, sent.Challenge, wrong, 1, InvalidCode)
		verify(t, f, n, sent.Challenge, wrong, 2, Blocked) // the third blocks
		verify(t, f, n, sent.Challenge, s.Last(t).Code, 2, Blocked)
		if a := attempts(t, f, real); a != "3" {
			t.Errorf("attempts %s after three wrong codes and a blocked verify, want 3", a)
		}
	})

	t.Run("expired challenge", func(t *testing.T) {
		f, s, n, real, c, sent := start(t)
		c.Step(f.CodeTTL + time.Second)
		before := attempts(t, f, real)
		verify(t, f, n, sent.Challenge, s.Last(t).Code, 2, Expired)
		if a := attempts(t, f, real); a != before {
			t.Errorf("attempts %s after verifying an expired challenge, %s before", a, before)
		}
	})

	t.Run("replaced challenge", func(t *testing.T) {
		f, s, n, real, c, sent := start(t)
		old := s.Last(t).Code
		c.Step(time.Minute)
		if _, err := f.Send(ctx, gb, ipA, "h"); err != nil {
			t.Fatal(err)
		}
		verify(t, f, n, sent.Challenge, old, 2, Expired)
		if a := attempts(t, f, real); a != "0" {
			t.Errorf("attempts %s after verifying a replaced challenge", a)
		}
	})
}

// Right answers racing on one code: one signs in, and the guard counts
// the code once (the others take back what their verify wrote), on the
// memory store and on Redis.
func TestVerifiedCountsOnceRacing(t *testing.T) {
	srv := redistest.Start(t)
	for _, name := range []string{"memory", "redis"} {
		t.Run(name, func(t *testing.T) {
			c := newClock()
			f, s := pumpFlow(c)
			if name == "redis" {
				r := newRedisFlow(t, srv, s)
				r.Pumping, r.LimitIP, r.LimitPhone, r.LimitGlobal = f.Pumping, f.LimitIP, f.LimitPhone, f.LimitGlobal
				f = r
			}
			f.MaxAttempts = 100
			ctx := context.Background()
			const gb = "+447400123456"
			sent, err := f.Send(ctx, gb, ipA, "h")
			if err != nil {
				t.Fatal(err)
			}
			got := guess50(f, sent.Challenge, s.Last(t).Code)
			if got[0] != 1 || got[Expired] != 49 {
				t.Fatalf("answers by kind %v, want one success and 49 expired", got)
			}
			b, _ := f.Pumping.bucket(f.Pumping.now(f))
			for _, k := range []string{f.windowKey(ScopePrefix, Prefix(gb), b), f.windowKey(ScopeCountry, Country(gb), b)} {
				v, _, err := f.Store.Get(ctx, k)
				n, err := counter(store.Op{Key: k, Out: v, Err: err})
				if err != nil || unpack(n).verified != 1 {
					t.Errorf("%s: %+v %v, want one verified code", k, unpack(n), err)
				}
			}
			v, _, err := f.Store.Get(ctx, f.dailyKey(Country(gb), day(f.Pumping.now(f))))
			if n, err := counter(store.Op{Out: v, Err: err}); err != nil || n != 1 {
				t.Errorf("the day's verified codes: %d %v, want 1", n, err)
			}
			if w, _, _ := f.Store.(store.WindowReader).Window(ctx, f.k("pv", Prefix(gb))); w != 0 {
				t.Errorf("limit_prefix holds %d slots, want 0", w)
			}
		})
	}
}

// TestIPRefusedHere: once a send is refused for its client's address,
// the Flow that refused it says so for that network (an IPv6 client by
// its /64) until the refusal ends, with no store call; other networks
// are not refused, and the store still decides once it has ended.
func TestIPRefusedHere(t *testing.T) {
	c := newClock()
	f := newTestFlow(c, new(fakeSMS))
	f.LimitIP = 1
	ctx := context.Background()
	if _, err := f.Send(ctx, phoneA, "2001:db8::1", "example.com"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.IPRefused("2001:db8::2"); ok {
		t.Fatal("refused before any refusal")
	}
	_, err := f.Send(ctx, phoneB, "2001:db8::1", "example.com")
	var ref *Refusal
	if !errors.As(err, &ref) || ref.Limit != "ip" {
		t.Fatalf("second send from the address: %v, want refused for limit_ip", err)
	}
	got, ok := f.IPRefused("2001:db8::ffff")
	if !ok || got.Limit != "ip" || got.RetryAfter <= 0 || !got.Again {
		t.Fatalf("the same /64 after the refusal: %+v %v, want refused again", got, ok)
	}
	if _, ok := f.IPRefused("2001:db8:1::1"); ok {
		t.Fatal("another /64 was refused")
	}
	if _, ok := f.IPRefused("198.51.100.7"); ok {
		t.Fatal("another address was refused")
	}
	c.Step(got.RetryAfter + time.Second)
	if _, ok := f.IPRefused("2001:db8::1"); ok {
		t.Fatal("still refused after the refusal ended")
	}
}
