package caddyotp

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/caddyotp/caddyotp/sms"
)

func TestRegisterMetrics(t *testing.T) {
	t.Run("twice in one registry, as two handlers of one config", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		m1, err := registerMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := registerMetrics(reg)
		if err != nil {
			t.Fatalf("second registration: %v", err)
		}
		if m1.sent != m2.sent || m1.blocks != m2.blocks || m1.providerDuration != m2.providerDuration {
			t.Error("the second handler counts in other collectors than the first")
		}
	})
	t.Run("in a new registry, as after a reload", func(t *testing.T) {
		m1, err := registerMetrics(prometheus.NewPedanticRegistry())
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewPedanticRegistry()
		m2, err := registerMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		before := testutil.ToFloat64(m2.blocks)
		m1.blocks.Inc()
		if got := testutil.ToFloat64(m2.blocks); got != before+1 {
			t.Errorf("count did not carry over the reload: %v, want %v", got, before+1)
		}
		if n, err := testutil.GatherAndCount(reg, "caddy_phone_otp_verifications_total"); err != nil || n != len(verifyOutcomes) {
			t.Errorf("verifications_total has %d series (%v), want one per outcome, at zero or more", n, err)
		}
	})
	t.Run("an equal collector already there is used", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		theirs := prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "phone_otp", Name: "blocks_total",
			Help: "Phones blocked after max_attempts wrong codes.",
		})
		reg.MustRegister(theirs)
		m, err := registerMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		if m.blocks != theirs {
			t.Error("the registered collector was not reused")
		}
	})
	t.Run("a clashing collector is an error", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caddy_phone_otp_blocks_total", Help: "something else",
		}))
		if _, err := registerMetrics(reg); err == nil {
			t.Error("no error for a clashing collector")
		}
	})
}

func TestVerifyOutcome(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "verified"},
		{&refusal{kind: kindInvalidCode, attemptsLeft: 1}, "wrong"},
		{refuse(kindExpired), "expired"},
		{&refusal{kind: kindBlocked, newBlock: true}, "blocked"},
		{refuse(kindInvalidRequest), "invalid"},
		{&refusal{kind: kindSMSFailed, err: errors.New("x")}, "error"},
		{unavailable("code", errDown), "error"},
		{errors.New("unexpected"), "error"},
	}
	for _, tt := range tests {
		if got := verifyOutcome(tt.err); got != tt.want {
			t.Errorf("verifyOutcome(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestInstrument(t *testing.T) {
	m, err := registerMetrics(prometheus.NewPedanticRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	count := func(name string) (sent, failed float64, sends, checks uint64) {
		sent = testutil.ToFloat64(m.sent.WithLabelValues(name, "default"))
		failed = testutil.ToFloat64(m.failed.WithLabelValues(name, "default"))
		return sent, failed, histCount(t, m, name, "send"), histCount(t, m, name, "check")
	}

	local := &fakeSMS{}
	p := instrument(local, "t_local", m)
	if _, ok := p.(sms.RemoteChecker); ok {
		t.Error("a local provider became a RemoteChecker")
	}
	res, err := p.Send(ctx, sms.Message{Phone: phoneA, Code: "123456"})
	if err != nil || res.ID != "1" {
		t.Fatalf("Send through the wrapper = %+v, %v", res, err)
	}
	local.Fail = errors.New("gateway down")
	if _, err := p.Send(ctx, sms.Message{Phone: phoneA}); err != local.Fail {
		t.Errorf("the provider's error was not passed through: %v", err)
	}
	if s, f, n, c := count("t_local"); s != 1 || f != 1 || n != 2 || c != 0 {
		t.Errorf("sent %v, failed %v, timed sends %d, checks %d; want 1, 1, 2, 0", s, f, n, c)
	}
	// A call counts under channel "call", not with the texts.
	local.Fail = nil
	if _, err := p.Send(ctx, sms.Message{Phone: phoneA, Code: "123456", Channel: sms.ChannelCall}); err != nil {
		t.Fatal(err)
	}
	if s, f, _, _ := count("t_local"); s != 1 || f != 1 {
		t.Errorf("a call counted with the texts: sent %v, failed %v; want 1, 1", s, f)
	}
	if calls := testutil.ToFloat64(m.sent.WithLabelValues("t_local", "call")); calls != 1 {
		t.Errorf("calls sent %v, want 1", calls)
	}

	remote := &remoteSMS{Codes: map[string]string{}}
	p = instrument(remote, "t_remote", m)
	rc, ok := p.(sms.RemoteChecker)
	if !ok || !rc.ChecksRemotely() {
		t.Fatal("a remote-checking provider lost RemoteChecker")
	}
	if _, err := rc.Send(ctx, sms.Message{Phone: phoneA, CodeLength: 6}); err != nil {
		t.Fatal(err)
	}
	if ok, err := rc.Check(ctx, phoneA, remote.Codes[phoneA], ""); !ok || err != nil {
		t.Errorf("Check through the wrapper = %v, %v", ok, err)
	}
	if s, f, n, c := count("t_remote"); s != 1 || f != 0 || n != 1 || c != 1 {
		t.Errorf("sent %v, failed %v, timed sends %d, checks %d; want 1, 0, 1, 1", s, f, n, c)
	}
}

// histCount is how many observations the provider histogram holds.
func histCount(t *testing.T, m *metrics, provider, op string) uint64 {
	t.Helper()
	h, ok := m.providerDuration.WithLabelValues(provider, op).(prometheus.Histogram)
	if !ok {
		t.Fatal("not a histogram")
	}
	ch := make(chan prometheus.Metric, 1)
	h.Collect(ch)
	pb := new(dto.Metric)
	if err := (<-ch).Write(pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetHistogram().GetSampleCount()
}
