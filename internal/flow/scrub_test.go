package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/sms"
)

// leakySMS is a third-party provider that does not clean its errors, as
// phone_otp's own clients do (caddysms.ClientError): every error it
// returns quotes the phone, the code and the text it was handed, in a
// wrapped error and in an *sms.Error's Message alike.
type leakySMS struct {
	remote bool   // makes and checks codes itself
	sent   string // the code the last Send was handed, or made
}

func (l *leakySMS) leak(op, phone, code, text string) error {
	cause := fmt.Errorf("gateway said: cannot deliver %q to %s (digits %s)", text, phone, strings.TrimPrefix(phone, "+"))
	return fmt.Errorf("leaky: %s %s code %s: %w", op, phone, code,
		&sms.Error{Provider: "leaky", Op: op, Status: 400, Message: "rejected " + code + " for " + phone, Err: cause})
}

func (l *leakySMS) Send(_ context.Context, m sms.Message) (sms.Result, error) {
	l.sent = m.Code
	if l.remote {
		l.sent = "24681357"[:m.CodeLength]
		return sms.Result{}, l.leak("send", m.Phone, l.sent, "your code is "+l.sent)
	}
	return sms.Result{}, l.leak("send", m.Phone, m.Code, m.Text)
}

func (l *leakySMS) ChecksRemotely() bool { return l.remote }

func (l *leakySMS) Check(_ context.Context, phone, code, _ string) (bool, error) {
	return false, l.leak("check", phone, code, "")
}

// okRemote makes codes and sends them, and checks them through leaky,
// whose checks fail with errors that quote the phone and code.
type okRemote struct {
	*remoteSMS
	leaky *leakySMS
}

func (o okRemote) Check(ctx context.Context, phone, code, ref string) (bool, error) {
	return o.leaky.Check(ctx, phone, code, ref)
}

// TestFlowScrubsProviderErrors: the flow's refusals carry the provider's
// error for the log, with the phone masked and the code starred out,
// whatever the provider put in it: a third-party sms.Provider need not
// clean its errors as phone_otp's own clients do.
func TestFlowScrubsProviderErrors(t *testing.T) {
	digits := strings.TrimPrefix(phoneA, "+")
	// code is the code to look for; "" where the flow cannot know it.
	wantClean := func(t *testing.T, err error, code string) {
		t.Helper()
		var r *Refusal
		if !errors.As(err, &r) || r.Kind != SMSFailed || r.Err == nil {
			t.Fatalf("err = %v, want an sms_failed refusal with its cause", err)
		}
		for _, text := range []string{r.Err.Error(), err.Error()} {
			if code != "" && strings.Contains(text, code) {
				t.Errorf("the error holds the code %s: %s", code, text)
			}
			if strings.Contains(text, digits) {
				t.Errorf("the error holds the phone's digits: %s", text)
			}
			if !strings.Contains(text, sms.MaskPhone(phoneA)) {
				t.Errorf("the error lost the masked phone, which the log keeps: %s", text)
			}
		}
		// Scrubbing keeps the cause for the caller: what it was, and
		// whether the gateway refused it for sure.
		if !sms.IsError(r.Err) {
			t.Errorf("the scrubbed error no longer unwraps to the *sms.Error: %v", r.Err)
		}
	}

	t.Run("send, code made here", func(t *testing.T) {
		c := newClock()
		l := &leakySMS{}
		f := newTestFlow(c, l)
		f.CodeLength = 8
		err := mustFail(f.Send(context.Background(), phoneA, ipA, "example.com"))
		if len(l.sent) != 8 {
			t.Fatalf("the provider was handed code %q", l.sent)
		}
		wantClean(t, err, l.sent)
	})
	t.Run("send, code made by the provider", func(t *testing.T) {
		// The flow never sees this code, so only the phone can be
		// masked: a provider that makes codes must keep its own out.
		c := newClock()
		f := newTestFlow(c, &leakySMS{remote: true})
		f.CodeLength = 8
		wantClean(t, mustFail(f.Send(context.Background(), phoneA, ipA, "example.com")), "")
	})
	t.Run("check by the provider", func(t *testing.T) {
		c := newClock()
		r := okRemote{remoteSMS: &remoteSMS{Codes: map[string]string{}}, leaky: &leakySMS{}}
		f := newTestFlow(c, r)
		f.CodeLength = 8
		ctx := context.Background()
		ch, err := f.Send(ctx, phoneA, ipA, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		const typed = "97531864"
		wantClean(t, f.Verify(ctx, ch.Challenge, typed), typed)
	})
}
