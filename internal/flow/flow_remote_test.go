package flow

import (
	"context"
	"sync"
	"testing"

	"github.com/caddyotp/caddyotp/sms"
)

// pickySMS decides per message whether the code is its own, like a
// failover whose member that took the message checks codes remotely.
type pickySMS struct {
	fakeSMS
	mu      sync.Mutex // guards codes and asked
	own     bool       // make a code of its own instead of sending Message.Code
	ref     string     // Result.Ref to report
	codes   map[string]string
	asked   []string // refs Check was called with
	nocheck bool     // report Remote without being able to Check
}

func (p *pickySMS) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	res, err := p.fakeSMS.Send(ctx, m)
	if err != nil || !p.own {
		return res, err
	}
	p.mu.Lock()
	p.codes[m.Phone] = wrongCode(m.Code) // anything but the flow's code
	p.mu.Unlock()
	return sms.Result{ID: res.ID, Remote: true, Ref: p.ref}, nil
}

func (p *pickySMS) ChecksRemotely() bool { return false }

func (p *pickySMS) Check(_ context.Context, phone, code, ref string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, ref)
	return p.codes[phone] == code, nil
}

// notChecker reports a remote code but has no Check.
type notChecker struct{ fakeSMS }

func (n *notChecker) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	res, err := n.fakeSMS.Send(ctx, m)
	res.Remote = true
	return res, err
}

func TestFlowPerMessageRemote(t *testing.T) {
	ctx := context.Background()
	t.Run("own code is checked with the ref it reported", func(t *testing.T) {
		p := &pickySMS{own: true, ref: "1.twilio_verify", codes: map[string]string{}}
		f := newTestFlow(newClock(), p)
		ch, err := f.Send(ctx, phoneA, ipA, "h")
		if err != nil {
			t.Fatal(err)
		}
		sent := p.Last(t).Code
		if k := refusalKind(f.Verify(ctx, ch.Challenge, sent)); k != InvalidCode {
			t.Errorf("the flow's own code: kind %d, want invalid_code", k)
		}
		if err := f.Verify(ctx, ch.Challenge, p.codes[phoneA]); err != nil {
			t.Errorf("the provider's code: %v", err)
		}
		if len(p.asked) != 2 || p.asked[0] != "1.twilio_verify" || p.asked[1] != "1.twilio_verify" {
			t.Errorf("Check got refs %q", p.asked)
		}
	})
	t.Run("a code sent as is stays local", func(t *testing.T) {
		p := &pickySMS{codes: map[string]string{}}
		f := newTestFlow(newClock(), p)
		ch, err := f.Send(ctx, phoneA, ipA, "h")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Verify(ctx, ch.Challenge, p.Last(t).Code); err != nil {
			t.Errorf("right code: %v", err)
		}
		if len(p.asked) != 0 {
			t.Errorf("Check called for a local code: %q", p.asked)
		}
	})
	t.Run("remote code from a provider that cannot check fails the send", func(t *testing.T) {
		f := newTestFlow(newClock(), &notChecker{})
		if k := refusalKind(mustFail(f.Send(ctx, phoneA, ipA, "h"))); k != SMSFailed {
			t.Errorf("kind %d, want sms_failed", k)
		}
		// The SMS went out, so the send counts: the next one waits.
		f.Sender = &fakeSMS{}
		if _, err := f.Send(ctx, phoneA, ipA, "h"); refusalKind(err) != RateLimited {
			t.Errorf("send after the failed one: %v, want rate_limited", err)
		}
	})
	t.Run("remote code after a reload to a provider that cannot check is expired", func(t *testing.T) {
		p := &pickySMS{own: true, codes: map[string]string{}}
		f := newTestFlow(newClock(), p)
		ch, err := f.Send(ctx, phoneA, ipA, "h")
		if err != nil {
			t.Fatal(err)
		}
		f.Sender = &fakeSMS{}
		if k := refusalKind(f.Verify(ctx, ch.Challenge, p.codes[phoneA])); k != Expired {
			t.Errorf("kind %d, want expired", k)
		}
	})
}
