package sms

import (
	"context"
	"errors"
	"strings"
	"time"
)

// WithCalls joins p, which delivers the codes, and call, a second
// provider that makes the calls "Call me instead" asks for (phone_otp's
// `call` option), into one provider: a ChannelCall message goes to call,
// any other to p. Either may make and check its own codes: as with
// failover, a member that does gets no code and no text, the Result says
// the code is remote, and its Ref names the member, so that Check asks
// the one that sent it, on whichever Caddy instance the visitor reaches.
func WithCalls(p, call Provider) Provider {
	w := &withCalls{p: p, call: call}
	w.prc, _ = p.(RemoteChecker)
	w.crc, _ = call.(RemoteChecker)
	return w
}

type withCalls struct {
	p, call  Provider
	prc, crc RemoteChecker // nil unless the member can check codes
}

// The Ref prefixes that name the member that sent a code.
const (
	refSMS  = "sms/"
	refCall = "call/"
)

func remoteMember(rc RemoteChecker) bool { return rc != nil && rc.ChecksRemotely() }

func (w *withCalls) Send(ctx context.Context, m Message) (Result, error) {
	p, rc, prefix := w.p, w.prc, refSMS
	if m.Channel == ChannelCall {
		p, rc, prefix = w.call, w.crc, refCall
	}
	remote := remoteMember(rc)
	if remote {
		m.Code, m.Text = "", ""
	}
	res, err := p.Send(ctx, m)
	res.Remote = res.Remote || remote
	res.Ref = prefix + res.Ref
	return res, err
}

// ChecksRemotely reports whether both members make and check their own
// codes, so phone_otp need make none.
func (w *withCalls) ChecksRemotely() bool { return remoteMember(w.prc) && remoteMember(w.crc) }

// member is the member that sent the code named by ref, and its own ref.
// A ref of neither prefix is the first provider's, from before `call`
// was configured (a reload).
func (w *withCalls) member(ref string) (p Provider, rc RemoteChecker, inner string) {
	if rest, ok := strings.CutPrefix(ref, refCall); ok {
		return w.call, w.crc, rest
	}
	if rest, ok := strings.CutPrefix(ref, refSMS); ok {
		return w.p, w.prc, rest
	}
	return w.p, w.prc, ref
}

// Check asks the member that sent the code, named by ref.
func (w *withCalls) Check(ctx context.Context, phone, code, ref string) (bool, error) {
	_, rc, inner := w.member(ref)
	if rc == nil {
		return false, &Error{Provider: "call", Op: "check", Err: errors.New("no provider to check this code with (the configuration changed since it was sent)")}
	}
	return rc.Check(ctx, phone, code, inner)
}

// CheckLimit is the check limit of the member that sent the code named
// by ref.
func (w *withCalls) CheckLimit(ref string) (int, time.Duration) {
	p, _, inner := w.member(ref)
	return CheckLimit(p, inner)
}

// CanCall reports true: the call member makes the calls.
func (*withCalls) CanCall() bool { return true }

// CodeLengthRange is the code lengths both members accept.
func (w *withCalls) CodeLengthRange() (lo, hi int) {
	lo, hi = 1, 1<<10
	for _, p := range []Provider{w.p, w.call} {
		if l, ok := p.(CodeLengthLimiter); ok {
			a, b := l.CodeLengthRange()
			lo, hi = max(lo, a), min(hi, b)
		}
	}
	return lo, hi
}

// Interface guards
var (
	_ RemoteChecker     = (*withCalls)(nil)
	_ Caller            = (*withCalls)(nil)
	_ CodeLengthLimiter = (*withCalls)(nil)
	_ CheckLimiter      = (*withCalls)(nil)
)
