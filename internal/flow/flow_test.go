package flow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/sms"
)

func TestFlowSendAndVerify(t *testing.T) {
	c := newClock()
	f := newTestFlow(c, &fakeSMS{})
	ctx := context.Background()
	ch, err := f.Send(ctx, phoneA, ipA, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := f.Sender.(*fakeSMS).Last(t)
	if m.Phone != phoneA || len(m.Code) != 6 || !allDigits(m.Code) {
		t.Fatalf("sent %+v", m)
	}
	if !strings.HasSuffix(m.Text, "\n\n@example.com #"+m.Code) {
		t.Errorf("message lacks the origin-bound line: %q", m.Text)
	}
	if !ch.Expires.Equal(c.Now().Add(5 * time.Minute)) {
		t.Errorf("expires %v", ch.Expires)
	}
	if err := f.Verify(ctx, ch.Challenge, m.Code); err != nil {
		t.Fatalf("right code refused: %v", err)
	}
	// Single use.
	if k := refusalKind(f.Verify(ctx, ch.Challenge, m.Code)); k != Expired {
		t.Errorf("second use of a code: kind %d, want expired", k)
	}
}

func TestFlowCodeStoredOnlyAsKeyedHash(t *testing.T) {
	c := newClock()
	f := newTestFlow(c, &fakeSMS{})
	ctx := context.Background()
	ch, err := f.Send(ctx, phoneA, ipA, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	code := f.Sender.(*fakeSMS).Last(t).Code
	rec, _, err := f.Store.Attached(ctx, f.k("p", phoneA))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rec), code) {
		t.Error("the stored record holds the code in clear")
	}
	cr, ok := decodeRecord(rec)
	if !ok || cr.idPrefix != ch.ID[:recIDLen] || len(cr.hash) != hashLen || cr.remote {
		t.Fatalf("record %+v, valid %v", cr, ok)
	}
	hash := cr.hash
	// Another key gives another hash: the hash is keyed.
	other := &Flow{Key: []byte("another key, also thirty-two byte")}
	if string(other.hash(ch.ID, phoneA, code)) == string(hash) {
		t.Error("hash does not depend on the key")
	}
}

func TestFlowExpiry(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration
		want Kind
	}{
		{"just before expiry", 5*time.Minute - time.Second, 0},
		{"at expiry", 5 * time.Minute, Expired},
		{"long after", time.Hour, Expired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			f := newTestFlow(c, &fakeSMS{})
			ch, err := f.Send(context.Background(), phoneA, ipA, "h")
			if err != nil {
				t.Fatal(err)
			}
			c.Step(tc.wait)
			if k := refusalKind(f.Verify(context.Background(), ch.Challenge, f.Sender.(*fakeSMS).Last(t).Code)); k != tc.want {
				t.Errorf("kind %d, want %d", k, tc.want)
			}
		})
	}
}

func TestFlowThirdWrongCodeBlocks(t *testing.T) {
	c := newClock()
	f := newTestFlow(c, &fakeSMS{})
	ctx := context.Background()
	ch, _ := f.Send(ctx, phoneA, ipA, "h")
	code := f.Sender.(*fakeSMS).Last(t).Code
	for i, wantLeft := range []int{2, 1} {
		err := f.Verify(ctx, ch.Challenge, wrongCode(code))
		var r *Refusal
		if !errors.As(err, &r) || r.Kind != InvalidCode || r.AttemptsLeft != wantLeft {
			t.Fatalf("wrong code %d: %v, want invalid_code with %d left", i+1, err, wantLeft)
		}
	}
	var r *Refusal
	if err := f.Verify(ctx, ch.Challenge, wrongCode(code)); !errors.As(err, &r) || r.Kind != Blocked || r.RetryAfter != 15*time.Minute {
		t.Fatalf("third wrong code: %v, want blocked for 15m", err)
	}
	// Blocked: the right code, and a new code, are refused.
	if k := refusalKind(f.Verify(ctx, ch.Challenge, code)); k != Blocked {
		t.Errorf("right code while blocked: kind %d", k)
	}
	c.Step(time.Minute) // past resend_after
	if k := refusalKind(mustFail(f.Send(ctx, phoneA, ipA, "h"))); k != Blocked {
		t.Errorf("send while blocked: kind %d", k)
	}
	// Another phone is not affected.
	if _, err := f.Send(ctx, phoneB, ipA, "h"); err != nil {
		t.Errorf("other phone: %v", err)
	}
	// The block ends; the old code is gone, a new one works.
	c.Step(15 * time.Minute)
	if k := refusalKind(f.Verify(ctx, ch.Challenge, code)); k != Expired {
		t.Errorf("old code after the block: kind %d, want expired", k)
	}
	ch2, err := f.Send(ctx, phoneA, ipA, "h")
	if err != nil {
		t.Fatalf("send after the block: %v", err)
	}
	if err := f.Verify(ctx, ch2.Challenge, f.Sender.(*fakeSMS).Last(t).Code); err != nil {
		t.Errorf("verify after the block: %v", err)
	}
}

func TestFlowNewCodeReplacesOld(t *testing.T) {
	c := newClock()
	f := newTestFlow(c, &fakeSMS{})
	ctx := context.Background()
	ch1, _ := f.Send(ctx, phoneA, ipA, "h")
	code1 := f.Sender.(*fakeSMS).Last(t).Code
	c.Step(31 * time.Second)
	ch2, err := f.Send(ctx, phoneA, ipA, "h")
	if err != nil {
		t.Fatal(err)
	}
	if k := refusalKind(f.Verify(ctx, ch1.Challenge, code1)); k != Expired {
		t.Errorf("old challenge: kind %d, want expired", k)
	}
	if err := f.Verify(ctx, ch2.Challenge, f.Sender.(*fakeSMS).Last(t).Code); err != nil {
		t.Errorf("new code: %v", err)
	}
}

func TestFlowMalformedCodeCostsNothing(t *testing.T) {
	c := newClock()
	f := newTestFlow(c, &fakeSMS{})
	ctx := context.Background()
	ch, _ := f.Send(ctx, phoneA, ipA, "h")
	for _, bad := range []string{"", "12345", "1234567", "12345a", "١٢٣٤٥٦", "12\x0034", strings.Repeat("1", 5000)} {
		if k := refusalKind(f.Verify(ctx, ch.Challenge, bad)); k != InvalidRequest {
			t.Errorf("%q: kind %d, want invalid_request", bad, k)
		}
	}
	if err := f.Verify(ctx, ch.Challenge, f.Sender.(*fakeSMS).Last(t).Code); err != nil {
		t.Errorf("right code after malformed ones: %v", err)
	}
}

func TestFlowSendLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("resend_after", func(t *testing.T) {
		c := newClock()
		f := newTestFlow(c, &fakeSMS{})
		f.Send(ctx, phoneA, ipA, "h")
		c.Step(10 * time.Second)
		var r *Refusal
		if err := mustFail(f.Send(ctx, phoneA, ipA, "h")); !errors.As(err, &r) || r.Kind != RateLimited || r.RetryAfter != 20*time.Second {
			t.Fatalf("resend at 10s: %v, want rate_limited for 20s", err)
		}
		c.Step(20 * time.Second)
		if _, err := f.Send(ctx, phoneA, ipA, "h"); err != nil {
			t.Errorf("resend at 30s: %v", err)
		}
	})
	for _, tc := range []struct {
		name  string
		set   func(*Flow)
		phone func(i int) string
		ip    func(i int) string
		allow int
	}{
		{"limit_phone", func(f *Flow) { f.LimitPhone = 3 }, func(int) string { return phoneA }, func(i int) string { return fmt.Sprintf("192.0.2.%d", i) }, 3},
		{"limit_ip", func(f *Flow) { f.LimitIP = 4 }, func(i int) string { return fmt.Sprintf("+1201555%04d", 100+i) }, func(int) string { return ipA }, 4},
		{"limit_ip counts an IPv6 /64 as one client", func(f *Flow) { f.LimitIP = 2 }, func(i int) string { return fmt.Sprintf("+1201555%04d", 100+i) }, func(i int) string { return fmt.Sprintf("2001:db8::%x", i+1) }, 2},
		{"limit_global", func(f *Flow) { f.LimitGlobal = 5 }, func(i int) string { return fmt.Sprintf("+1201555%04d", 100+i) }, func(i int) string { return fmt.Sprintf("192.0.2.%d", i) }, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			f := newTestFlow(c, &fakeSMS{})
			tc.set(f)
			for i := 0; i < tc.allow; i++ {
				if _, err := f.Send(ctx, tc.phone(i), tc.ip(i), "h"); err != nil {
					t.Fatalf("send %d: %v", i+1, err)
				}
				c.Step(time.Minute) // past resend_after
			}
			var r *Refusal
			err := mustFail(f.Send(ctx, tc.phone(tc.allow), tc.ip(tc.allow), "h"))
			if !errors.As(err, &r) || r.Kind != RateLimited || r.RetryAfter <= 0 {
				t.Fatalf("send %d: %v, want rate_limited", tc.allow+1, err)
			}
			if n := f.Sender.(*fakeSMS).Count(); n != tc.allow {
				t.Errorf("%d SMS sent, want %d", n, tc.allow)
			}
			// The window is an hour.
			c.Step(time.Hour)
			if _, err := f.Send(ctx, tc.phone(tc.allow), tc.ip(tc.allow), "h"); err != nil {
				t.Errorf("after the window: %v", err)
			}
		})
	}
}

// TestFlowProviderFailureCost: only a definite refusal before delivery
// is refunded; a failure whose outcome is unknown counts like a send.
func TestFlowProviderFailureCost(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		refunded bool
	}{
		{"gateway 4xx", &sms.Error{Provider: "fake", Op: "send", Status: 400}, true},
		{"refused before any call", &sms.Error{Provider: "fake", Op: "send", Err: errors.New("bad phone"), Unsent: true}, true},
		{"vonage refusal in a 200", &sms.Error{Provider: "fake", Op: "send", Status: 200, Refused: true}, true},
		{"gateway 5xx", &sms.Error{Provider: "fake", Op: "send", Status: 500}, false},
		{"unreadable 2xx", &sms.Error{Provider: "fake", Op: "send", Status: 200, Err: errors.New("decode")}, false},
		{"2xx with no status kept", &sms.Error{Provider: "fake", Op: "send", Err: errors.New("decode response")}, false},
		{"timeout", &sms.Error{Provider: "fake", Op: "send", Err: &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}}, false},
		{"not a provider error", errors.New("third-party provider failed"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeSMS{Fail: tt.err}
			f := newTestFlow(newClock(), fs)
			f.LimitPhone, f.LimitIP, f.LimitGlobal = 1, 1, 1
			ctx := context.Background()
			if k := refusalKind(mustFail(f.Send(ctx, phoneA, ipA, "h"))); k != SMSFailed {
				t.Fatalf("failing provider: kind %d, want sms_failed", k)
			}
			fs.Fail = nil
			_, err := f.Send(ctx, phoneA, ipA, "h")
			switch {
			case tt.refunded && err != nil:
				t.Errorf("retry after a refunded failure: %v", err)
			case !tt.refunded && refusalKind(err) != RateLimited:
				t.Errorf("retry after an unknown outcome: %v, want rate_limited", err)
			}
		})
	}
}

func TestFlowPolicyAnswersLikeASend(t *testing.T) {
	c := newClock()
	fs := &fakeSMS{}
	f := newTestFlow(c, fs)
	f.Policy = allowOnly(phoneA)
	ctx := context.Background()
	ch, err := f.Send(ctx, phoneB, ipA, "h")
	if err != nil || !ch.Withheld {
		t.Fatalf("ruled-out phone: %v, withheld %v; want the ordinary answer, withheld", err, ch.Withheld)
	}
	if fs.Count() != 0 {
		t.Fatal("an SMS went to a phone the allowlist rules out")
	}
	// It counts against limits like any send.
	c.Step(10 * time.Second)
	if k := refusalKind(mustFail(f.Send(ctx, phoneB, ipA, "h"))); k != RateLimited {
		t.Errorf("resend to ruled-out phone: kind %d, want rate_limited", k)
	}
	// And verifies like a real challenge whose code nobody knows.
	for _, code := range []string{"123456", "654321"} {
		if k := refusalKind(f.Verify(ctx, ch.Challenge, code)); k != InvalidCode {
			t.Errorf("code for ruled-out phone: kind %d, want invalid_code", k)
		}
	}
	if k := refusalKind(f.Verify(ctx, ch.Challenge, "111111")); k != Blocked {
		t.Errorf("third code: kind %d, want blocked", k)
	}
}

func TestFlowRemoteCheck(t *testing.T) {
	c := newClock()
	rs := &remoteSMS{Codes: map[string]string{}}
	f := newTestFlow(c, rs)
	ctx := context.Background()
	ch, err := f.Send(ctx, phoneA, ipA, "h")
	if err != nil {
		t.Fatal(err)
	}
	code := rs.Codes[phoneA]
	if k := refusalKind(f.Verify(ctx, ch.Challenge, wrongCode(code))); k != InvalidCode {
		t.Errorf("wrong code: kind %d", k)
	}
	// A provider that cannot answer costs no attempt.
	rs.CheckErr = errors.New("timeout")
	for i := 0; i < 5; i++ {
		if k := refusalKind(f.Verify(ctx, ch.Challenge, code)); k != SMSFailed {
			t.Fatalf("check failing: kind %d, want sms_failed", k)
		}
	}
	// Nor one that checks no more codes of it; the visitor is told so.
	rs.CheckErr = fmt.Errorf("%w: twilio_verify: code 60202", sms.ErrTooManyChecks)
	if k := refusalKind(f.Verify(ctx, ch.Challenge, code)); k != TooManyChecks {
		t.Fatalf("too many checks: kind %d, want too_many_checks", k)
	}
	rs.CheckErr = nil
	if err := f.Verify(ctx, ch.Challenge, code); err != nil {
		t.Fatalf("right code: %v", err)
	}
	// Local expiry still applies to remote codes.
	c.Step(31 * time.Second)
	ch, _ = f.Send(ctx, phoneA, ipA, "h")
	c.Step(6 * time.Minute)
	if k := refusalKind(f.Verify(ctx, ch.Challenge, rs.Codes[phoneA])); k != Expired {
		t.Errorf("remote code after code_ttl: kind %d, want expired", k)
	}
}

func TestFlowStoreDownFailsClosed(t *testing.T) {
	c := newClock()
	fs := &fakeSMS{}
	f := newTestFlow(c, fs)
	f.Store = brokenStore{}
	ctx := context.Background()
	if k := refusalKind(mustFail(f.Send(ctx, phoneA, ipA, "h"))); k != Unavailable {
		t.Errorf("send: kind %d, want unavailable", k)
	}
	if fs.Count() != 0 {
		t.Error("an SMS was sent with the store down")
	}
	ch := Challenge{ID: RandomID(), Phone: phoneA, Expires: c.Now().Add(time.Minute)}
	if k := refusalKind(f.Verify(ctx, ch, "123456")); k != Unavailable {
		t.Errorf("verify: kind %d, want unavailable", k)
	}
}

func TestIPKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"::1", "::/64"},
		{"not-an-ip", "not-an-ip"},
	}
	for _, tt := range tests {
		if got := ipKey(tt.ip); got != tt.want {
			t.Errorf("ipKey(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
	// One /64 is one client; the next /64 is another.
	if ipKey("2001:db8:aa:bb:ffff:ffff:ffff:ffff") != ipKey("2001:db8:aa:bb::") {
		t.Error("addresses in one /64 get different keys")
	}
	if ipKey("2001:db8:aa:bb::1") == ipKey("2001:db8:aa:bc::1") {
		t.Error("addresses in two /64s share a key")
	}
	if ipKey("192.0.2.1") == ipKey("192.0.2.2") {
		t.Error("two IPv4 addresses share a key")
	}
}

// TestFlowVerifyAfterPolicyNarrowed: a right code for a number the policy
// has since ruled out (a reload) is used up and answered expired, so no
// session is issued that would be refused at once.
func TestFlowVerifyAfterPolicyNarrowed(t *testing.T) {
	fs := &fakeSMS{}
	f := newTestFlow(newClock(), fs)
	ctx := context.Background()
	sent, err := f.Send(ctx, phoneA, ipA, "h")
	if err != nil || sent.Withheld {
		t.Fatalf("send: %v, withheld %v", err, sent.Withheld)
	}
	f.Policy = allowOnly(phoneB)
	code := fs.Last(t).Code
	if k := refusalKind(f.Verify(ctx, sent.Challenge, code)); k != Expired {
		t.Errorf("right code after the rules narrowed: kind %v, want expired", k)
	}
	f.Policy = allowAll
	if k := refusalKind(f.Verify(ctx, sent.Challenge, code)); k != Expired {
		t.Errorf("the same code again: kind %v, want expired (used up)", k)
	}
}
