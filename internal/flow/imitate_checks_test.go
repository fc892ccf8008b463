package flow

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/sms"
)

// TestWithheldChecksAsTheImitatedSend: a withheld send's challenge is
// checked as the real send it imitates left its code, per channel: with
// texts that a remote checker made and calls that carry phone_otp's own
// code (a `call` provider that is local), a withheld text's wrong code
// waits for the remote check, and a withheld call's is compared here at
// once, whatever the provider as a whole says.
func TestWithheldChecksAsTheImitatedSend(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	f := newTestFlow(c, &pickySMS{codes: map[string]string{}}) // checks per message, not as a whole
	f.CanCall, f.Policy, f.Recent = true, allowOnly(phoneA), new(Recent)
	waited := recordWaits(f)
	f.Recent.Sends.RecordSend(200*time.Millisecond, 1, nil, Checks{By: CheckedBySMS})
	f.Recent.Voice.RecordSend(900*time.Millisecond, 1, nil, Checks{})
	f.Recent.Checks.Record(280*time.Millisecond, 1, nil)

	text, err := f.Send(ctx, phoneB, ipA, "h")
	if err != nil {
		t.Fatal(err)
	}
	*waited = nil
	if k := refusalKind(f.Verify(ctx, text.Challenge, "123456")); k != InvalidCode || len(*waited) != 1 || (*waited)[0] != 280*time.Millisecond {
		t.Errorf("withheld text, wrong code: kind %d, waited %v; want invalid_code after the remote check's 280ms", k, *waited)
	}

	c.Step(31 * time.Second)
	call, err := f.SendVia(ctx, phoneB, ipA, "h", sms.ChannelCall)
	if err != nil {
		t.Fatal(err)
	}
	*waited = nil
	if k := refusalKind(f.Verify(ctx, call.Challenge, "123456")); k != InvalidCode || len(*waited) != 0 {
		t.Errorf("withheld call, wrong code: kind %d, waited %v; want invalid_code at once, as a local code", k, *waited)
	}
}

// limitedSMS checks codes itself and, like Twilio Verify, answers
// limit checks of a verification and refuses the rest; a verification
// lasts lifetime from the send that started it, and later sends continue
// it.
type limitedSMS struct {
	remoteSMS
	now      func() time.Time
	limit    int
	lifetime time.Duration
	mu       sync.Mutex
	started  map[string]time.Time
	checks   map[string]int
}

func (l *limitedSMS) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	l.mu.Lock()
	if s, ok := l.started[m.Phone]; !ok || l.now().Sub(s) >= l.lifetime {
		l.started[m.Phone], l.checks[m.Phone] = l.now(), 0
	}
	l.mu.Unlock()
	return l.remoteSMS.Send(ctx, m)
}

func (l *limitedSMS) Check(ctx context.Context, phone, code, ref string) (bool, error) {
	l.mu.Lock()
	l.checks[phone]++
	n := l.checks[phone]
	l.mu.Unlock()
	if n > l.limit {
		return false, fmt.Errorf("%w: 60202", sms.ErrTooManyChecks)
	}
	return l.remoteSMS.Check(ctx, phone, code, ref)
}

func (l *limitedSMS) CheckLimit(string) (int, time.Duration) { return l.limit, l.lifetime }

// TestWithheldTooManyChecks: with max_attempts above the provider's
// limit of checks, a real number meets the provider's refusal at the
// sixth check, which gives the attempt back; a withheld number must meet
// the same answers at the same verifies, before and after a resend and
// once the provider's verification has run out.
func TestWithheldTooManyChecks(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	p := &limitedSMS{remoteSMS: remoteSMS{Codes: map[string]string{}}, now: c.Now, limit: 5, lifetime: 10 * time.Minute,
		started: map[string]time.Time{}, checks: map[string]int{}}
	f := newTestFlow(c, p)
	f.MaxAttempts, f.BlockFor, f.LimitPhone = 9, time.Hour, 10
	f.Policy, f.Recent = allowOnly(phoneA), new(Recent)
	recordWaits(f)
	f.Recent.Sends.RecordSend(200*time.Millisecond, 1, nil, Checks{By: CheckedBySMS, Limit: 5, Lifetime: 10 * time.Minute})
	f.Recent.Checks.Record(280*time.Millisecond, 1, nil)

	answer := func(err error) string {
		var r *Refusal
		if !asRefusal(err, &r) {
			return fmt.Sprint(err)
		}
		return fmt.Sprintf("kind %d, %d left", r.Kind, r.AttemptsLeft)
	}
	send := func(phone string) Challenge {
		t.Helper()
		s, err := f.Send(ctx, phone, ipA, "h")
		if err != nil {
			t.Fatalf("send to %s: %v", phone, err)
		}
		return s.Challenge
	}
	// verifies makes n wrong verifies of each number's challenge, and
	// wants the same answers.
	verifies := func(stage string, n int, real, withheld Challenge) (last string) {
		t.Helper()
		for i := range n {
			code := wrongCode(p.Code(phoneA))
			a, w := answer(f.Verify(ctx, real, code)), answer(f.Verify(ctx, withheld, code))
			if a != w {
				t.Errorf("%s, verify %d: real %s, withheld %s", stage, i+1, a, w)
			}
			last = a
		}
		return last
	}

	real, withheld := send(phoneA), send(phoneB)
	verifies("first code", 3, real, withheld)
	c.Step(time.Minute) // a resend continues the provider's verification
	real, withheld = send(phoneA), send(phoneB)
	if last := verifies("after a resend", 4, real, withheld); last != answer(&Refusal{Kind: TooManyChecks}) {
		t.Errorf("the real number's seventh check: %s, want the provider's refusal", last)
	}
	// The provider's verification ends ten minutes after it began: a new
	// code starts a new one, with five checks again.
	c.Step(10 * time.Minute)
	real, withheld = send(phoneA), send(phoneB)
	verifies("a new verification", 3, real, withheld)
}

// asRefusal is errors.As for a *Refusal.
func asRefusal(err error, r **Refusal) bool {
	x, ok := err.(*Refusal)
	*r = x
	return ok
}
