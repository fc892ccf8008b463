package caddysms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
)

// member is a failover member for tests: it fails with err, or takes the
// message and, if remote, checks codes against code.
type member struct {
	err    error
	remote bool
	code   string
	got    []sms.Message
	refs   []string
}

func (m *member) Send(_ context.Context, msg sms.Message) (sms.Result, error) {
	m.got = append(m.got, msg)
	if m.err != nil {
		return sms.Result{}, m.err
	}
	return sms.Result{ID: "id"}, nil
}

func (m *member) ChecksRemotely() bool { return m.remote }

func (m *member) Check(_ context.Context, _, code, ref string) (bool, error) {
	m.refs = append(m.refs, ref)
	return code == m.code, nil
}

func failoverOf(ms ...*member) *Failover {
	f := &Failover{remote: true}
	for i, m := range ms {
		name := []string{"twilio", "twilio_verify", "vonage"}[i]
		f.members = append(f.members, failoverMember{name: name, p: m, rc: m, minLen: 1, maxLen: 1 << 10})
		f.remote = f.remote && m.remote
	}
	return f
}

func TestFailoverSend(t *testing.T) {
	down := errors.New("down")
	msg := sms.Message{Phone: "+12015550123", Code: "123456", Text: "123456 is your code", CodeLength: 6}
	tests := []struct {
		name       string
		members    []*member
		wantTried  []int
		wantRef    string
		wantRemote bool
		wantErr    bool
	}{
		{"first takes it", []*member{{}, {}}, []int{1, 0}, "0.twilio", false, false},
		{"second after the first fails", []*member{{err: down}, {}}, []int{1, 1}, "1.twilio_verify", false, false},
		{"a remote member gets no code", []*member{{err: down}, {remote: true}}, []int{1, 1}, "1.twilio_verify", true, false},
		{"all fail", []*member{{err: down}, {err: down}, {err: down}}, []int{1, 1, 1}, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := failoverOf(tt.members...)
			f.logger = zap.NewNop()
			res, err := f.Send(context.Background(), msg)
			if (err != nil) != tt.wantErr || res.Ref != tt.wantRef || res.Remote != tt.wantRemote {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			if err != nil && (!sms.IsError(err) || !strings.Contains(err.Error(), "down")) {
				t.Errorf("error %v", err)
			}
			for i, m := range tt.members {
				if len(m.got) != tt.wantTried[i] {
					t.Errorf("member %d tried %d times, want %d", i, len(m.got), tt.wantTried[i])
				}
				for _, g := range m.got {
					if m.remote && (g.Code != "" || g.Text != "") {
						t.Errorf("remote member %d got the code or text", i)
					}
					if !m.remote && (g.Code != msg.Code || g.Text != msg.Text) {
						t.Errorf("member %d got %+v", i, g)
					}
				}
			}
		})
	}
}

// TestFailoverAttempts: each member tried counts, save one that definitely
// refused, for limit_global; the whole failure is definite only if every
// member's was.
func TestFailoverAttempts(t *testing.T) {
	refused := &sms.Error{Provider: "p", Op: "send", Status: 400}
	unknown := &sms.Error{Provider: "p", Op: "send", Status: 503}
	tests := []struct {
		name         string
		members      []*member
		wantAttempts int
		wantDefinite bool
	}{
		{"first takes it", []*member{{}, {}}, 1, false},
		{"after a refusal", []*member{{err: refused}, {}}, 1, false},
		{"after an unknown outcome", []*member{{err: unknown}, {}}, 2, false},
		{"all refuse", []*member{{err: refused}, {err: refused}}, 0, true},
		{"one unknown among refusals", []*member{{err: refused}, {err: unknown}, {err: refused}}, 1, false},
		{"not a provider error", []*member{{err: errors.New("plain")}, {err: refused}}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := failoverOf(tt.members...)
			f.logger = zap.NewNop()
			res, err := f.Send(context.Background(), sms.Message{Phone: "+12015550123", Code: "123456"})
			if res.Attempts != tt.wantAttempts {
				t.Errorf("Attempts = %d, want %d", res.Attempts, tt.wantAttempts)
			}
			if err != nil && sms.Definite(err) != tt.wantDefinite {
				t.Errorf("Definite(%v) = %v, want %v", err, sms.Definite(err), tt.wantDefinite)
			}
		})
	}
}

func TestFailoverCheckGoesToTheSender(t *testing.T) {
	a, b := &member{remote: true, code: "111111"}, &member{remote: true, code: "222222"}
	f := failoverOf(a, b)
	if !f.ChecksRemotely() {
		t.Fatal("all members remote, ChecksRemotely false")
	}
	tests := []struct {
		ref, code string
		want      bool
		wantErr   bool
	}{
		{"1.twilio_verify", "222222", true, false},
		{"1.twilio_verify", "111111", false, false},
		{"0.twilio", "111111", true, false},
		{"1.twilio_verify/inner", "222222", true, false},
		{"1.vonage", "222222", false, true}, // members changed since
		{"7.twilio", "111111", false, true},
		{"", "111111", false, true},
		{"x", "111111", false, true},
	}
	for _, tt := range tests {
		ok, err := f.Check(context.Background(), "+12015550123", tt.code, tt.ref)
		if ok != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("Check(%q, %q) = %v, %v", tt.ref, tt.code, ok, err)
		}
	}
	if len(b.refs) < 3 || b.refs[2] != "inner" {
		t.Errorf("inner refs %q", b.refs)
	}
}
