package flow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/sms"
)

// TestCallIsASend: "Call me instead" is refused by a flow that cannot
// call; where it can, it waits for the resend gap like a new code, reads
// the code slowly twice, replaces the texted code, and counts against
// limit_phone.
func TestCallIsASend(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	sender := &fakeSMS{}
	f := newTestFlow(c, sender)
	f.LimitPhone = 2
	texted, err := f.Send(ctx, phoneA, ipA, "app.example.com")
	if err != nil {
		t.Fatal(err)
	}
	c.Step(time.Minute)
	if k := refusalKind(mustFail(f.SendVia(ctx, phoneA, ipA, "app.example.com", sms.ChannelCall))); k != InvalidRequest {
		t.Errorf("call from a flow that cannot call: kind %v, want InvalidRequest", k)
	}
	if k := refusalKind(mustFail(f.SendVia(ctx, phoneA, ipA, "app.example.com", "fax"))); k != InvalidRequest {
		t.Errorf("unknown channel: kind %v, want InvalidRequest", k)
	}

	f.CanCall = true
	c.Step(-time.Minute + 10*time.Second) // 10s after the SMS
	var r *Refusal
	if _, err := f.SendVia(ctx, phoneA, ipA, "app.example.com", sms.ChannelCall); refusalKind(err) != RateLimited {
		t.Fatalf("call 10s after the SMS: %v, want the resend gap", err)
	} else if r = err.(*Refusal); r.Limit != "resend" {
		t.Errorf("refused by %q, want resend", r.Limit)
	}
	c.Step(30 * time.Second)
	first := sender.Last(t).Code
	sent, err := f.SendVia(ctx, phoneA, ipA, "app.example.com", sms.ChannelCall)
	if err != nil {
		t.Fatalf("call after the gap: %v", err)
	}
	m := sender.Last(t)
	if m.Channel != sms.ChannelCall || m.Text != sms.VoiceText(m.Code, "app.example.com") {
		t.Errorf("call message %+v", m)
	}
	if strings.Contains(m.Text, "@app.example.com #") {
		t.Error("the call's text has the SMS's origin-bound line")
	}
	if err := f.Verify(ctx, texted.Challenge, first); refusalKind(err) != Expired {
		t.Errorf("the texted code after the call: %v, want it replaced (expired)", err)
	}
	if err := f.Verify(ctx, sent.Challenge, m.Code); err != nil {
		t.Errorf("the called code: %v", err)
	}
	c.Step(time.Minute)
	if _, err := f.SendVia(ctx, phoneA, ipA, "app.example.com", sms.ChannelCall); refusalKind(err) != RateLimited {
		t.Errorf("third send with limit_phone 2: %v, want rate limited", err)
	}
}

// TestCallThroughASecondProvider: with `call` set, texts carry the flow's
// code and the call member makes and checks its own.
func TestCallThroughASecondProvider(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	text, call := &fakeSMS{}, &remoteSMS{Codes: map[string]string{}}
	f := newTestFlow(c, sms.WithCalls(text, call))
	f.CanCall = true
	if _, err := f.Send(ctx, phoneA, ipA, "h"); err != nil {
		t.Fatal(err)
	}
	c.Step(31 * time.Second)
	sent, err := f.SendVia(ctx, phoneA, ipA, "h", sms.ChannelCall)
	if err != nil {
		t.Fatal(err)
	}
	if m := call.Last(t); m.Channel != sms.ChannelCall || m.Text != "" {
		t.Errorf("call member got %+v: want a call with no text of ours", m)
	}
	if err := f.Verify(ctx, sent.Challenge, wrongCode(call.Code(phoneA))); refusalKind(err) != InvalidCode {
		t.Errorf("wrong code: %v", err)
	}
	if err := f.Verify(ctx, sent.Challenge, call.Code(phoneA)); err != nil {
		t.Errorf("the call member's code: %v", err)
	}
}

// TestWithheldCallImitatesCalls: a withheld number's call waits like the
// provider's recent real calls, not its texts, which take their own time:
// otherwise the call's timing would tell withheld numbers from others.
func TestWithheldCallImitatesCalls(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	sender := &fakeSMS{}
	f := newTestFlow(c, sender)
	f.CanCall, f.Policy, f.Recent = true, allowOnly(phoneB), new(Recent)
	waited := recordWaits(f)
	f.Recent.Sends.Record(200*time.Millisecond, 1, nil)
	f.Recent.Voice.Record(900*time.Millisecond, 1, nil)
	if _, err := f.Send(ctx, phoneA, ipA, "h"); err != nil {
		t.Fatal(err)
	}
	c.Step(31 * time.Second)
	if _, err := f.SendVia(ctx, phoneA, ipA, "h", sms.ChannelCall); err != nil {
		t.Fatal(err)
	}
	if len(*waited) != 2 || (*waited)[0] != 200*time.Millisecond || (*waited)[1] != 900*time.Millisecond {
		t.Errorf("waited %v, want the text's 200ms then the call's 900ms", *waited)
	}
	if sender.Count() != 0 {
		t.Errorf("a withheld number got %d messages", sender.Count())
	}
}
