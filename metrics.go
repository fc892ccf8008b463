package caddyotp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/sms"
)

// Label values, fixed so that every series exists (at zero) from the start
// and dashboards need no "absent" special cases.
var (
	verifyOutcomes = []string{"verified", "wrong", "expired", "blocked", "invalid", "error"}
	limitKinds     = []string{"ip", "phone", "global", "resend"}
	revokeReasons  = []string{"logout", "admin"}
)

// The collectors are package globals, as in Caddy's own modules and
// mholt/caddy-ratelimit: Caddy gives each loaded config a registry of its
// own, and registering the same collectors in each new one keeps counters
// monotonic across `caddy reload`, as Prometheus expects.
var (
	codesSent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "codes_sent_total",
		Help: "Codes the SMS provider accepted, by provider and channel (default: the provider's own, SMS unless its channel option says otherwise; call: Call me instead).",
	}, []string{"provider", "channel"})
	codesFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "codes_failed_total",
		Help: "Codes the SMS provider refused or failed to take, by provider and channel (default, call).",
	}, []string{"provider", "channel"})
	verifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "verifications_total",
		Help: "Code verifications, by outcome: verified, wrong, expired, blocked, invalid (malformed or no challenge), error (provider or store).",
	}, []string{"outcome"})
	blocksSet = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "blocks_total",
		Help: "Phones blocked after max_attempts wrong codes.",
	})
	rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "rate_limited_total",
		Help: "Sends refused by a rate limit, by limit: ip, phone, global, resend.",
	}, []string{"limit"})
	sessionsIssued = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "sessions_issued_total",
		Help: "Sessions issued after a verified code.",
	})
	sessionsRevoked = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "sessions_revoked_total",
		Help: "Session revocations, by reason: logout (one session), admin (every session of a phone).",
	}, []string{"reason"})
	withheldSends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "withheld_total",
		Help: "Sends answered \"sent\" with no SMS, by reason (policy, number_type, prefix_limit, prefix_paused, country_paused) and country.",
	}, []string{"reason", "country"})
	flaggedSends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "flagged_total",
		Help: "Sends the SMS-pumping guard would have withheld, were it not in monitor mode (they were texted), by reason and country.",
	}, []string{"reason", "country"})
	pausesSet = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "pauses_total",
		Help: "SMS-pumping breakers tripped, by scope (prefix, country) and country.",
	}, []string{"scope", "country"})
	providerDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "caddy", Subsystem: "phone_otp", Name: "provider_request_duration_seconds",
		Help:    "Time the SMS provider took to answer, by provider and operation (send, check).",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"provider", "op"})
)

// metrics are the collectors one handler counts in: the globals above, or
// whichever equal collectors the registry already held.
type metrics struct {
	sent, failed     *prometheus.CounterVec
	verifications    *prometheus.CounterVec
	blocks           prometheus.Counter
	rateLimited      *prometheus.CounterVec
	issued           prometheus.Counter
	revoked          *prometheus.CounterVec
	providerDuration *prometheus.HistogramVec
	withheld, pauses *prometheus.CounterVec
	flagged          *prometheus.CounterVec
}

// registerMetrics registers the collectors in reg (Caddy's registry for the
// config being loaded; nil counts without exposing). Several phone_otp
// handlers in one config register the same collectors: the registry then
// answers AlreadyRegisteredError, and the collector it holds is used.
func registerMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		sent: codesSent, failed: codesFailed, verifications: verifications,
		blocks: blocksSet, rateLimited: rateLimited, issued: sessionsIssued,
		revoked: sessionsRevoked, providerDuration: providerDuration,
		withheld: withheldSends, pauses: pausesSet, flagged: flaggedSends,
	}
	if reg != nil {
		r := &registrar{reg: reg}
		m.sent, m.failed = register(r, m.sent), register(r, m.failed)
		m.verifications, m.blocks = register(r, m.verifications), register(r, m.blocks)
		m.rateLimited = register(r, m.rateLimited)
		m.issued, m.revoked = register(r, m.issued), register(r, m.revoked)
		m.providerDuration = register(r, m.providerDuration)
		m.withheld, m.pauses = register(r, m.withheld), register(r, m.pauses)
		m.flagged = register(r, m.flagged)
		if r.err != nil {
			return nil, r.err
		}
	}
	for _, o := range verifyOutcomes {
		m.verifications.WithLabelValues(o)
	}
	for _, k := range limitKinds {
		m.rateLimited.WithLabelValues(k)
	}
	for _, r := range revokeReasons {
		m.revoked.WithLabelValues(r)
	}
	return m, nil
}

// registrar registers collectors and keeps the first error.
type registrar struct {
	reg *prometheus.Registry
	err error
}

// register registers c, or returns the equal collector r already holds.
func register[C prometheus.Collector](r *registrar, c C) C {
	err := r.reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	if r.err == nil {
		r.err = fmt.Errorf("metrics: %w", err)
	}
	return c
}

// verifyOutcome is the verifications_total label for the result of a verify.
func verifyOutcome(err error) string {
	if err == nil {
		return "verified"
	}
	switch asRefusal(err).kind {
	case kindInvalidCode:
		return "wrong"
	case kindExpired:
		return "expired"
	case kindBlocked:
		return "blocked"
	case kindInvalidRequest:
		return "invalid"
	}
	return "error"
}

// instrument wraps p so that every call to the provider is timed and every
// send counted, whoever makes it. A provider that checks codes remotely
// stays one (the flow type-asserts sms.RemoteChecker).
func instrument(p sms.Provider, name string, m *metrics) sms.Provider {
	ip := &instrumented{p: p, name: name, m: m}
	if rc, ok := p.(sms.RemoteChecker); ok {
		ip.rc = rc
		return &instrumentedRemote{instrumented: ip, rc: rc}
	}
	return ip
}

// recordCalls makes p, as instrument returned it, record its sends and
// checks in r, as checker: the `sms` provider (flow.CheckedBySMS) or the
// `call` one (flow.CheckedByCall).
func recordCalls(p sms.Provider, r *flow.Recent, checker flow.Checker) {
	switch i := p.(type) {
	case *instrumented:
		i.recent, i.checker = r, checker
	case *instrumentedRemote:
		i.recent, i.checker = r, checker
	}
}

type instrumented struct {
	p       sms.Provider
	rc      sms.RemoteChecker // p, if it can check codes
	name    string
	m       *metrics
	recent  *flow.Recent // for withheld numbers to imitate (internal/flow/imitate.go); may be nil
	checker flow.Checker // which provider this is, for recent
}

func (i *instrumented) Send(ctx context.Context, msg sms.Message) (sms.Result, error) {
	start := time.Now()
	res, err := i.p.Send(ctx, msg)
	took := time.Since(start)
	i.m.providerDuration.WithLabelValues(i.name, "send").Observe(took.Seconds())
	// A send cut short because the visitor left says nothing of the
	// provider: imitating it would fail withheld numbers alone. The error
	// is kept scrubbed of this visitor's phone and code: a withheld send
	// that imitates it logs it as its own.
	if i.recent != nil && ctx.Err() == nil {
		calls := &i.recent.Sends
		if msg.Channel == sms.ChannelCall {
			calls = &i.recent.Voice
		}
		calls.RecordSend(took, res.Attempts, sms.Scrub(err, msg.Phone, msg.Code), i.checks(res))
	}
	if err != nil {
		i.m.failed.WithLabelValues(i.name, channelLabel(msg.Channel)).Inc()
	} else {
		i.m.sent.WithLabelValues(i.name, channelLabel(msg.Channel)).Inc()
	}
	return res, err
}

// checks says who checks the code a send that ended in res delivered:
// phone_otp, or this provider, which made it (res.Remote, or a provider
// that always does), with its limit of checks. A withheld number's
// verifies imitate the same checker (internal/flow/imitate.go), per
// send, since a failover or a `call` provider may mix both kinds.
func (i *instrumented) checks(res sms.Result) flow.Checks {
	if !res.Remote && (i.rc == nil || !i.rc.ChecksRemotely()) {
		return flow.Checks{}
	}
	n, life := sms.CheckLimit(i.p, res.Ref)
	return flow.Checks{By: i.checker, Limit: n, Lifetime: life}
}

// channelLabel is the channel label of a send: "call" for Call me
// instead, "default" for the provider's own channel. Two values only,
// whatever a provider's channel option says, so the series stay few.
func channelLabel(channel string) string {
	if channel == sms.ChannelCall {
		return "call"
	}
	return "default"
}

type instrumentedRemote struct {
	*instrumented
	rc sms.RemoteChecker
}

func (i *instrumentedRemote) ChecksRemotely() bool { return i.rc.ChecksRemotely() }

func (i *instrumentedRemote) Check(ctx context.Context, phone, code, ref string) (bool, error) {
	start := time.Now()
	ok, err := i.rc.Check(ctx, phone, code, ref)
	took := time.Since(start)
	i.m.providerDuration.WithLabelValues(i.name, "check").Observe(took.Seconds())
	// Recorded as sends are, for a withheld challenge's verify to
	// imitate; whether the code matched is not kept, only that the
	// provider answered.
	if i.recent != nil && ctx.Err() == nil {
		calls := &i.recent.Checks
		if i.checker == flow.CheckedByCall {
			calls = &i.recent.CallChecks
		}
		calls.Record(took, 1, sms.Scrub(err, phone, code))
	}
	return ok, err
}

// CheckLimit is the provider's own (sms.CheckLimiter).
func (i *instrumentedRemote) CheckLimit(ref string) (int, time.Duration) {
	return sms.CheckLimit(i.rc, ref)
}

// Interface guards
var (
	_ sms.Provider      = (*instrumented)(nil)
	_ sms.RemoteChecker = (*instrumentedRemote)(nil)
	_ sms.CheckLimiter  = (*instrumentedRemote)(nil)
)
