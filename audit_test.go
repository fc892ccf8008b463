package caddyotp

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/flow"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyotp/caddyotp/internal/session"
)

// newTestAudit is an audit with an observed log (its counters are the
// process's: see grown).
func newTestAudit(t *testing.T) (*audit, *observer.ObservedLogs) {
	t.Helper()
	m, err := registerMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	return &audit{log: zap.New(core), m: m, issuer: "shop", ipAgain: m.rateLimited.WithLabelValues("ip")}, logs
}

// grown reads c now and returns how much c has grown since: the counters
// are the process's, shared with every other test.
func grown(c prometheus.Collector) func() float64 {
	start := testutil.ToFloat64(c)
	return func() float64 { return testutil.ToFloat64(c) - start }
}

// oneLine is the one entry of logs, as message, level and fields.
func oneLine(t *testing.T, logs *observer.ObservedLogs) (string, zapcore.Level, map[string]any) {
	t.Helper()
	all := logs.TakeAll()
	if len(all) != 1 {
		t.Fatalf("%d log lines, want 1: %v", len(all), all)
	}
	return all[0].Message, all[0].Level, all[0].ContextMap()
}

func wantFields(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v (line %v)", k, got[k], v, got)
		}
	}
	if s := fmt.Sprint(got); strings.Contains(s, "5550123") {
		t.Errorf("the line holds the whole phone: %s", s)
	}
}

func TestAuditSend(t *testing.T) {
	a, logs := newTestAudit(t)
	r := httptest.NewRequest("POST", "http://example.com/_otp/send", nil)
	r.RemoteAddr = "192.0.2.7:4711"
	ch := challenge{Phone: phoneA, MessageID: "msg-1"}
	phoneLimited, ipLimited := grown(a.m.rateLimited.WithLabelValues("phone")), grown(a.m.rateLimited.WithLabelValues("ip"))

	a.send(r, phoneA, ch, "", nil)
	msg, lvl, f := oneLine(t, logs)
	if msg != "send" || lvl != zapcore.InfoLevel {
		t.Errorf("line %q at %s", msg, lvl)
	}
	wantFields(t, f, map[string]any{"issuer": "shop", "phone": "+1******0123", "client_ip": "192.0.2.7", "outcome": "sent", "message_id": "msg-1"})

	a.send(r, phoneA, ch, flow.ReasonPolicy, nil)
	_, _, f = oneLine(t, logs)
	wantFields(t, f, map[string]any{"outcome": "withheld", "reason": flow.ReasonPolicy})

	a.send(r, phoneA, challenge{}, "", &refusal{kind: kindRateLimited, limit: "phone", retryAfter: 30 * time.Second})
	_, lvl, f = oneLine(t, logs)
	wantFields(t, f, map[string]any{"outcome": "rate_limited", "limit": "phone", "retry_after": 30})
	if lvl != zapcore.InfoLevel || phoneLimited() != 1 {
		t.Errorf("rate limit at %s, counted %v", lvl, phoneLimited())
	}

	// A provider failure is an ERROR with its cause.
	a.send(r, phoneA, challenge{}, "", &refusal{kind: kindSMSFailed, err: errors.New("gateway said no")})
	_, lvl, f = oneLine(t, logs)
	if lvl != zapcore.ErrorLevel || !strings.Contains(fmt.Sprint(f["error"]), "gateway said no") {
		t.Errorf("provider failure at %s: %v", lvl, f)
	}

	// A refusal before the body was read counts, and writes nothing.
	a.ipRefusedAgain()
	if logs.Len() != 0 || ipLimited() != 1 {
		t.Errorf("ipRefusedAgain: %d lines, counted %v", logs.Len(), ipLimited())
	}
}

func TestAuditVerify(t *testing.T) {
	a, logs := newTestAudit(t)
	r := httptest.NewRequest("POST", "http://example.com/_otp/verify", nil)
	c := &session.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: phoneA, ID: "S1"}, User: "alice"}
	issued, verified := grown(a.m.issued), grown(a.m.verifications.WithLabelValues("verified"))
	blocks, blockedVerifies := grown(a.m.blocks), grown(a.m.verifications.WithLabelValues("blocked"))

	a.verify(r, phoneA, c, nil)
	msg, _, f := oneLine(t, logs)
	if msg != "verify" {
		t.Errorf("line %q", msg)
	}
	wantFields(t, f, map[string]any{"outcome": "verified", "session": "S1", "user": "alice"})
	if issued() != 1 || verified() != 1 {
		t.Error("a verified code was not counted")
	}

	a.verify(r, phoneA, nil, &refusal{kind: kindInvalidCode, attemptsLeft: 2})
	_, _, f = oneLine(t, logs)
	wantFields(t, f, map[string]any{"outcome": "invalid_code", "attempts_left": 2})

	// The wrong code that sets a block writes the block too, at WARN.
	a.verify(r, phoneA, nil, &refusal{kind: kindBlocked, newBlock: true, retryAfter: 15 * time.Minute})
	all := logs.TakeAll()
	if len(all) != 2 || all[1].Message != "block" || all[1].Level != zapcore.WarnLevel {
		t.Fatalf("lines %v, want verify then a WARN block", all)
	}
	wantFields(t, all[1].ContextMap(), map[string]any{"outcome": "blocked", "retry_after": 900})
	if blocks() != 1 || blockedVerifies() != 1 {
		t.Error("the block was not counted")
	}
	// A phone already blocked is no new block.
	a.verify(r, phoneA, nil, &refusal{kind: kindBlocked, retryAfter: time.Minute})
	if logs.Len() != 1 || blocks() != 1 {
		t.Errorf("an old block counted again: %d lines", logs.Len())
	}
}

func TestAuditLogout(t *testing.T) {
	a, logs := newTestAudit(t)
	r := httptest.NewRequest("POST", "http://example.com/_otp/logout", nil)
	logouts := grown(a.m.revoked.WithLabelValues("logout"))
	a.logout(r, nil, nil)
	_, _, f := oneLine(t, logs)
	wantFields(t, f, map[string]any{"outcome": "no_session", "phone": "", "session": ""})

	c := &session.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: phoneA, ID: "S1"}}
	a.logout(r, c, nil)
	_, _, f = oneLine(t, logs)
	wantFields(t, f, map[string]any{"outcome": "logged_out", "session": "S1", "phone": "+1******0123"})
	if logouts() != 1 {
		t.Error("the logout was not counted")
	}

	// A store failure: the line says unavailable, its cause is DEBUG only.
	a.logout(r, c, errDown)
	all := logs.TakeAll()
	if len(all) != 2 || all[0].Level != zapcore.DebugLevel || all[1].Level != zapcore.InfoLevel {
		t.Fatalf("lines %v", all)
	}
	wantFields(t, all[1].ContextMap(), map[string]any{"outcome": "unavailable"})
	if _, ok := all[1].ContextMap()["error"]; ok {
		t.Error("the INFO line carries the store's error")
	}
}

func TestAuditAdmin(t *testing.T) {
	a, logs := newTestAudit(t)
	revokes := grown(a.m.revoked.WithLabelValues("admin"))
	a.admin("revoke", phoneA, "127.0.0.1", "revoked", nil)
	_, lvl, f := oneLine(t, logs)
	wantFields(t, f, map[string]any{"outcome": "revoked", "client_ip": "127.0.0.1"})
	if lvl != zapcore.InfoLevel || revokes() != 1 {
		t.Errorf("admin revoke at %s, counted %v", lvl, revokes())
	}
	a.admin("unblock", phoneA, "127.0.0.1", "error", errDown)
	if _, lvl, _ := oneLine(t, logs); lvl != zapcore.ErrorLevel {
		t.Errorf("a failed admin action at %s", lvl)
	}
}
