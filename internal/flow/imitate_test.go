package flow

import (
	"context"
	"errors"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/sms"
)

// recordWaits makes f's waits instant and returns what they would have been.
func recordWaits(f *Flow) *[]time.Duration {
	var waited []time.Duration
	f.Wait = func(_ context.Context, d time.Duration) error {
		waited = append(waited, d)
		return nil
	}
	return &waited
}

// TestImitateSend: a withheld send waits like a recent real send, ends
// like the latest one and reports its attempts, with no real Sleep (the
// wait is injected).
func TestImitateSend(t *testing.T) {
	f := &Flow{Recent: new(Recent)}
	waited := recordWaits(f)
	ctx := context.Background()

	if _, _, err := f.imitateSend(ctx, sms.ChannelDefault); err != nil || len(*waited) != 1 || (*waited)[0] < coldStartMin || (*waited)[0] >= coldStartMax {
		t.Fatalf("before any real send: err %v, waited %v; want a wait in [%v, %v)", err, *waited, coldStartMin, coldStartMax)
	}

	for _, d := range []time.Duration{300, 310, 290} {
		f.Recent.Sends.Record(d*time.Millisecond, 2, nil)
	}
	*waited = nil
	for range 20 {
		if n, _, err := f.imitateSend(ctx, sms.ChannelDefault); err != nil || n != 2 {
			t.Fatalf("after good sends: attempts %d, %v; want 2, nil", n, err)
		}
	}
	for _, d := range *waited {
		if d != 290*time.Millisecond && d != 300*time.Millisecond && d != 310*time.Millisecond {
			t.Errorf("waited %v, not one of the real sends' times", d)
		}
	}

	// An outage: the latest send failed, so a withheld one fails too,
	// taking as long as a failed one did.
	outage := &sms.Error{Provider: "dexatel", Op: "send", Status: 500}
	f.Recent.Sends.Record(2*time.Millisecond, 1, outage)
	*waited = nil
	if n, _, err := f.imitateSend(ctx, sms.ChannelDefault); !errors.Is(err, outage) || n != 1 || len(*waited) != 1 || (*waited)[0] != 2*time.Millisecond {
		t.Errorf("during an outage: attempts %d, err %v, waited %v; want 1, the outage's error after 2ms", n, err, *waited)
	}
	f.Recent.Sends.Record(305*time.Millisecond, 1, nil)
	if _, _, err := f.imitateSend(ctx, sms.ChannelDefault); err != nil {
		t.Errorf("after the outage: %v", err)
	}

	// The visitor leaving ends the wait.
	f.Wait = Sleep
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := f.imitateSend(cctx, sms.ChannelDefault); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestImitateSendIgnoresOnePhonesRefusal: a gateway's refusal of one
// number is not imitated; withheld numbers keep answering as the last
// send that concerned the gateway as a whole.
func TestImitateSendIgnoresOnePhonesRefusal(t *testing.T) {
	f := &Flow{Recent: new(Recent)}
	waited := recordWaits(f)
	f.Recent.Sends.Record(300*time.Millisecond, 1, nil)
	f.Recent.Sends.Record(5*time.Millisecond, 1, &sms.Error{Provider: "webhook", Op: "send", Status: 400, Message: "invalid number"})
	if _, _, err := f.imitateSend(context.Background(), sms.ChannelDefault); err != nil || (*waited)[0] != 300*time.Millisecond {
		t.Errorf("after one number's refusal: err %v, waited %v; want the good send's outcome and time", err, *waited)
	}
}

// TestImitateCheck: a withheld challenge's verify under a remote-checking
// provider waits like a real check and fails as the latest one did.
func TestImitateCheck(t *testing.T) {
	f := newTestFlow(newClock(), &remoteSMS{Codes: map[string]string{}})
	f.Recent = new(Recent)
	waited := recordWaits(f)
	ctx := context.Background()
	ch := Challenge{Phone: phoneA, Expires: f.Now().Add(f.CodeTTL)}
	cr := codeRecord{imitate: CheckedBySMS}
	f.Recent.Sends.Record(900*time.Millisecond, 1, nil) // sends are not checks
	f.Recent.Checks.Record(280*time.Millisecond, 1, nil)
	f.Recent.CallChecks.Record(700*time.Millisecond, 1, nil) // another provider's
	if err := f.imitateCheck(ctx, ch, cr); err != nil || len(*waited) != 1 || (*waited)[0] != 280*time.Millisecond {
		t.Errorf("after a good check: err %v, waited %v; want nil after 280ms", err, *waited)
	}
	outage := &sms.Error{Provider: "dexatel", Op: "check verification", Status: 503}
	f.Recent.Checks.Record(40*time.Millisecond, 1, outage)
	if err := f.imitateCheck(ctx, ch, cr); !errors.Is(err, outage) {
		t.Errorf("during an outage: %v, want the outage's error", err)
	}
	// A check the provider refuses for this verification alone (Twilio's
	// "max check attempts") is not the provider's state.
	f.Recent.Checks.Record(280*time.Millisecond, 1, nil)
	f.Recent.Checks.Record(30*time.Millisecond, 1, &sms.Error{Provider: "twilio_verify", Op: "check", Status: 429, Err: sms.ErrTooManyChecks})
	if err := f.imitateCheck(ctx, ch, cr); err != nil {
		t.Errorf("after another verification's too_many_checks: %v", err)
	}
	// A code the call provider made is checked as the call provider
	// checks.
	*waited = nil
	if err := f.imitateCheck(ctx, ch, codeRecord{imitate: CheckedByCall}); err != nil || len(*waited) != 1 || (*waited)[0] != 700*time.Millisecond {
		t.Errorf("the call provider's check: err %v, waited %v; want nil after 700ms", err, *waited)
	}
	if err := (&Flow{}).imitateCheck(ctx, ch, cr); err != nil {
		t.Errorf("no imitation configured: %v", err)
	}
}

func TestProviderWide(t *testing.T) {
	dial := &sms.Error{Provider: "webhook", Op: "send", Err: &url.Error{Op: "Post", URL: "http://gw", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}}
	reset := &sms.Error{Provider: "webhook", Op: "send", Err: &url.Error{Op: "Post", URL: "http://gw", Err: &net.OpError{Op: "read", Err: errors.New("connection reset")}}}
	refused := &sms.Error{Provider: "twilio", Op: "send message", Status: 400, Code: "21211"}
	failover := func(errs ...error) error {
		return &sms.Error{Provider: "failover", Op: "send", Message: "every provider failed", Err: errors.Join(errs...)}
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"success", nil, true},
		{"5xx", &sms.Error{Status: 503}, true},
		{"timeout", context.DeadlineExceeded, true},
		{"reset", reset, true},
		{"gateway unreachable", dial, true},
		{"lookup failed", &sms.Error{Err: &url.Error{Op: "Post", URL: "http://gw", Err: &net.DNSError{Err: "no such host"}}}, true},
		{"a third party's own error", errors.New("boom"), true},
		{"4xx", refused, false},
		{"refused in a 2xx", &sms.Error{Status: 200, Refused: true}, false},
		{"input refused before any call", &sms.Error{Err: errors.New("not a phone number"), Unsent: true}, false},
		{"scrubbed 4xx", sms.Scrub(refused, "+12015550123", "123456"), false},
		{"failover, every member down", failover(&sms.Error{Status: 500}, dial), true},
		{"failover, one member refused this phone", failover(refused, &sms.Error{Status: 500}), false},
		{"failover, one refused this phone, one unreachable", failover(refused, dial), false},
	} {
		if got := providerWide(tt.err); got != tt.want {
			t.Errorf("%s: providerWide = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRecentCallsWrap: the ring keeps the latest calls only.
func TestRecentCallsWrap(t *testing.T) {
	s := new(Calls)
	for i := range 100 {
		s.Record(time.Duration(i), 1, nil)
	}
	for range 50 {
		if p, ok := s.pick(); !ok || p.took < 100-time.Duration(len(s.samples)) {
			t.Fatalf("pick %v, %v: older than the last %d sends", p.took, ok, len(s.samples))
		}
	}
}

// TestFlowWithheldImitatesRemoteCheck: under a provider that checks codes
// itself, each verify of a withheld challenge waits as a real check does
// and fails as one does in an outage, refunding the attempt as a real
// check's failure does; wrong codes still count and block.
func TestFlowWithheldImitatesRemoteCheck(t *testing.T) {
	f := newTestFlow(newClock(), &remoteSMS{Codes: map[string]string{}})
	f.Policy = allowOnly(phoneA)
	f.Recent = new(Recent)
	waited := recordWaits(f)
	ctx := context.Background()
	ch, err := f.Send(ctx, phoneB, ipA, "h")
	if err != nil {
		t.Fatal(err)
	}
	f.Recent.Checks.Record(280*time.Millisecond, 1, nil)
	*waited = nil
	var r *Refusal
	if err := f.Verify(ctx, ch.Challenge, "123456"); !errors.As(err, &r) || r.Kind != InvalidCode || r.AttemptsLeft != 2 ||
		len(*waited) != 1 || (*waited)[0] != 280*time.Millisecond {
		t.Fatalf("wrong code: %v, waited %v; want invalid_code, 2 left, after 280ms", err, *waited)
	}
	f.Recent.Checks.Record(40*time.Millisecond, 1, &sms.Error{Provider: "dexatel", Op: "check verification", Status: 500})
	if k := refusalKind(f.Verify(ctx, ch.Challenge, "123456")); k != SMSFailed {
		t.Errorf("during an outage: kind %d, want sms_failed", k)
	}
	f.Recent.Checks.Record(280*time.Millisecond, 1, nil)
	if err := f.Verify(ctx, ch.Challenge, "123456"); !errors.As(err, &r) || r.Kind != InvalidCode || r.AttemptsLeft != 1 {
		t.Errorf("after the outage: %v; want invalid_code with 1 left (the outage's attempt refunded)", err)
	}
	if k := refusalKind(f.Verify(ctx, ch.Challenge, "123456")); k != Blocked {
		t.Errorf("third wrong code: kind %d, want blocked", k)
	}
}

// TestFlowWithheldChargesAttempts: a withheld send charges limit_global
// the failover attempts of the send it imitates.
func TestFlowWithheldChargesAttempts(t *testing.T) {
	f := newTestFlow(newClock(), &fakeSMS{})
	f.Policy = allowOnly(phoneA)
	f.LimitGlobal = 3
	f.Recent = new(Recent)
	recordWaits(f)
	f.Recent.Sends.Record(time.Millisecond, 3, nil)
	ctx := context.Background()
	if _, err := f.Send(ctx, phoneB, ipA, "h"); err != nil {
		t.Fatal(err)
	}
	var r *Refusal
	if err := mustFail(f.Send(ctx, phoneA, ipA, "h")); !errors.As(err, &r) || r.Kind != RateLimited || r.Limit != "global" {
		t.Errorf("after a withheld send that imitated three attempts: %v; want rate_limited global", err)
	}
}

// TestFlowWithheldSendFailure: a withheld send that imitates an outage is
// refused as sms_failed, and the refusal says it was withheld.
func TestFlowWithheldSendFailure(t *testing.T) {
	f := newTestFlow(newClock(), &fakeSMS{})
	f.Policy = allowOnly(phoneA)
	f.Recent = new(Recent)
	recordWaits(f)
	f.Recent.Sends.Record(time.Millisecond, 1, &sms.Error{Provider: "dexatel", Op: "send", Status: 500})
	var r *Refusal
	if err := mustFail(f.Send(context.Background(), phoneB, ipA, "h")); !errors.As(err, &r) || r.Kind != SMSFailed || !r.Withheld {
		t.Errorf("withheld send during an outage: %v; want sms_failed, withheld", err)
	}
}
