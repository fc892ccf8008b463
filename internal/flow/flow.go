// Package flow is the login logic: codes, limits, blocks and the phone
// policy, over an SMS provider (sms), a store (store) and a clock. It
// knows nothing of HTTP: its answers are a Sent or a *Refusal, which the
// handlers in the module root turn into pages and JSON.
package flow

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

// limitWindow is the fixed window of limit_phone, limit_ip and limit_global.
const limitWindow = time.Hour

// Flow is the login logic of one handler: codes, expiry, attempts, blocks
// and send limits. Every decision that must hold across Caddy instances is
// one atomic store call. The fields are set once, before the first call.
type Flow struct {
	Store  store.Store
	Sender sms.Provider
	Now    func() time.Time
	NS     string // the protection domain, as key namespace: other domains' counts never mix in
	Key    []byte // keys the code hashes

	CodeLength  int
	CodeTTL     time.Duration
	MaxAttempts int
	BlockFor    time.Duration
	ResendAfter time.Duration
	LimitPhone  int
	LimitIP     int
	LimitGlobal int

	// Policy rules numbers in or out (allow, allow_file, countries): a
	// number it rules out is withheld, never texted.
	Policy Policy
	// Pumping holds back sends that look like SMS pumping (pumping.go);
	// nil: none.
	Pumping *Pumping
	// Message is the SMS text of code, for the site host.
	Message func(code, host string) string

	// A withheld number's send, and under a provider that checks codes
	// each verify of its challenge, imitates a real one (imitate.go):
	// Recent are the provider's recent real calls, Wait waits; nil: no
	// imitation.
	Recent *Recent
	Wait   func(context.Context, time.Duration) error

	// CanCall says Sender delivers sms.ChannelCall messages (see SendVia).
	CanCall bool

	refused refusedHere // the networks this Flow refused for their address (refused.go)
}

// Policy says which numbers may be texted.
type Policy interface {
	Permits(e164 string) bool
}

// Sent is a code on its way: the challenge, and whether the number was
// withheld (ruled out by the policy or held back by the pumping guard, so
// nothing was texted; the visitor is told "sent" all the same), why, and
// the pause the send set if it tripped a breaker.
type Sent struct {
	Challenge
	Withheld bool
	Reason   string // a Reason… constant when Withheld
	// Flagged is the Reason… the pumping guard would have withheld the
	// send for, were it not in monitor mode; the send went out.
	Flagged string
	Paused  *Pause
}

// Challenge is a code on its way to a phone, as the browser holds it.
type Challenge struct {
	ID      string
	Phone   string
	Expires time.Time
	// MessageID is the provider's id for the SMS, for the audit log; it
	// is not in the challenge cookie. Channel is how the code went
	// (sms.ChannelCall for a call), for the audit log too.
	MessageID, Channel string
}

func (f *Flow) remote() (sms.RemoteChecker, bool) {
	rc, ok := f.Sender.(sms.RemoteChecker)
	return rc, ok && rc.ChecksRemotely()
}

func (f *Flow) k(parts ...string) string {
	s := f.NS
	for _, p := range parts {
		s += ":" + p
	}
	return s
}

// ipKey groups IPv6 clients by /64: one subscriber usually holds a whole
// /64, so counting single addresses would let one client take 2^64 slots.
func ipKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || (addr.Is4() && !strings.Contains(ip, ":")) {
		return ip // not an address, or already a plain IPv4 one
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// blocked reports how long phone stays blocked, 0 if it is not.
func (f *Flow) blocked(ctx context.Context, phone string) (time.Duration, error) {
	_, ttl, err := f.Store.Get(ctx, f.k("block", phone))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return max(ttl, time.Second), nil
}

// send makes a code for phone and hands it to the provider on channel
// (see SendVia). ip is the client's address, host the site (for the
// message). A phone the policy rules out gets a challenge like any
// other, but no SMS.
//
// Its store work is three batches (docs/performance.md): the reads,
// then the takes (the limits and the guard's counts, each an atomic
// call), which decide; after the provider call, the code with the
// writes the decision left. A refusal by a limit takes back what the
// takes took in one more.
func (f *Flow) send(ctx context.Context, phone, ip, host, channel string) (Sent, error) {
	ipk := ipKey(ip)
	permitted := f.Policy.Permits(phone)
	var g *sendGuard
	if permitted {
		g = f.newSendGuard(phone, ipk)
	}

	// The reads. A client refused a send lately for its own address is
	// refused again from them, so that a flood from one client costs a
	// round trip a request; a blocked phone is refused before anything
	// is counted.
	var reads ops
	irI := reads.add(get(f.k("ir", ipk)))
	blockI := reads.add(get(f.k("block", phone)))
	g.read(&reads)
	if err := f.run(ctx, reads); err != nil {
		return Sent{}, unavailable("read", err)
	}
	if op := reads[irI]; op.Err == nil {
		return Sent{}, &Refusal{Kind: RateLimited, RetryAfter: max(op.Left, time.Second), Limit: "ip", Again: true}
	}
	if op := reads[blockI]; op.Err == nil {
		return Sent{}, &Refusal{Kind: Blocked, RetryAfter: max(op.Left, time.Second)}
	}

	// The takes: one event in each window, and the guard's counts. The
	// phone's window also holds the resend gap. Refused events are not
	// counted; when one is refused, the rest is taken back, so that a
	// client refused for its own address (the first window) ends having
	// spent no one else's budget.
	ws := [...]struct {
		key   string
		limit int
		gap   time.Duration
		name  string // for the audit log and metrics
	}{
		{f.k("i", ipk), f.LimitIP, 0, "ip"},
		{f.k("p", phone), f.LimitPhone, f.ResendAfter, "phone"},
		{f.k("g"), f.LimitGlobal, 0, "global"},
	}
	var takes ops
	for _, w := range ws {
		takes.add(store.Op{Kind: store.OpHit, Key: w.key, Limit: int64(w.limit), Window: limitWindow, Gap: w.gap})
	}
	if err := g.take(&takes, reads); err != nil {
		return Sent{}, unavailable("pumping", err)
	}
	err := f.run(ctx, takes)
	refused := -1
	for i := range ws {
		if takes[i].Err == nil && !takes[i].OK {
			refused = i
			break
		}
	}
	if err != nil || refused >= 0 {
		var undo ops
		for i := range ws {
			if takes[i].OK {
				undo.add(store.Op{Kind: store.OpUnhit, Key: takes[i].Key})
			}
		}
		g.undo(&undo, takes)
		retry := max(takes[max(refused, 0)].Left, time.Second)
		if err == nil && refused == 0 {
			// Remember, so the next sends from ip are refused early.
			undo.add(store.Op{Kind: store.OpSet, Key: f.k("ir", ipk), Val: []byte{1}, TTL: retry})
			now := f.Now()
			f.refused.note(ipk, now, now.Add(retry))
		}
		f.run(context.WithoutCancel(ctx), undo)
		if err != nil {
			return Sent{}, unavailable("limit", err)
		}
		// Hit does not say which rule refused: a wait no longer than the
		// gap is the gap's (so is a full window's last moments).
		name := ws[refused].name
		if ws[refused].gap > 0 && takes[refused].Left <= ws[refused].gap {
			name = "resend"
		}
		return Sent{}, &Refusal{Kind: RateLimited, RetryAfter: retry, Limit: name}
	}
	var writes ops // what the send leaves in the store with its code
	v, err := g.judge(reads, takes, &writes)
	if err != nil {
		var undo ops
		for i := range ws {
			undo.add(store.Op{Kind: store.OpUnhit, Key: takes[i].Key})
		}
		g.undo(&undo, takes)
		f.run(context.WithoutCancel(ctx), undo)
		return Sent{}, unavailable("pumping", err)
	}

	ch := Challenge{ID: RandomID(), Phone: phone, Expires: f.Now().Add(f.CodeTTL), Channel: channel}
	rec := codeRecord{mark: v.mark}
	rc, remote := f.remote()
	withheld, reason, flagged := !permitted, ReasonPolicy, ""
	if permitted {
		reason, withheld = v.reason, v.reason != ""
		if withheld && f.Pumping.Monitor {
			reason, withheld, flagged = "", false, v.reason
		}
	}
	// done writes the code (nil: none, the send failed) with the
	// decision's writes, and counts against limit_global the gateway
	// calls past the first that the send made (failover tries members
	// in turn, and each may have cost an SMS; once the window is full
	// the rest are not counted). A failed send is taken back from every
	// limit only if refundable.
	done := func(code []byte, attempts int, refund bool) error {
		var b ops
		if code != nil {
			b.add(store.Op{Kind: store.OpAttach, Key: f.k("p", phone), Val: code, TTL: f.CodeTTL})
		}
		b = append(b, writes...)
		for range attempts - 1 {
			b.add(store.Op{Kind: store.OpHit, Key: ws[2].key, Limit: int64(ws[2].limit), Window: limitWindow})
		}
		if refund {
			for _, w := range ws {
				b.add(store.Op{Kind: store.OpUnhit, Key: w.key})
			}
		}
		// The code is on its way: what it leaves is written even if the
		// visitor has gone.
		return f.run(context.WithoutCancel(ctx), b)
	}
	var attempts int
	switch {
	case withheld:
		// Take as long as a real send, and end as one (imitate.go), so
		// that timing tells allowed numbers from others no more than the
		// answer does.
		// It costs what the imitated one cost: its failover attempts,
		// and all of it unless refundable.
		var checks Checks
		var err error
		attempts, checks, err = f.imitateSend(ctx, channel)
		if err != nil {
			done(nil, attempts, refundable(err))
			return Sent{}, &Refusal{Kind: SMSFailed, Withheld: true, Err: err}
		}
		// Store a hash of a code nobody has, so the challenge behaves in
		// every way like a real one: wrong codes count, then it blocks.
		// Where the imitated send left the code to a provider to check,
		// each verify imitates that provider's check too, refusals
		// included: which one is the imitated send's, not the provider
		// as a whole's, since a site may mix both kinds.
		rec.hash = f.hash(ch.ID, phone, RandomCode(f.CodeLength))
		rec.imitate, rec.limit, rec.lifetime = checks.By, checks.Limit, checks.Lifetime
	case remote:
		res, err := rc.Send(ctx, sms.Message{Phone: phone, CodeLength: f.CodeLength, Host: host, TTL: f.CodeTTL, Channel: channel})
		ch.MessageID, attempts = res.ID, res.Attempts
		if err != nil {
			done(nil, attempts, refundable(err))
			return Sent{}, &Refusal{Kind: SMSFailed, Err: sms.Scrub(err, phone, "")}
		}
		rec.remote, rec.ref = true, res.Ref
	default:
		code := RandomCode(f.CodeLength)
		res, err := f.Sender.Send(ctx, sms.Message{
			Phone: phone, Code: code, CodeLength: f.CodeLength,
			Text: f.text(code, host, channel), Host: host, TTL: f.CodeTTL, Channel: channel,
		})
		ch.MessageID, attempts = res.ID, res.Attempts
		if err == nil && res.Remote && rc == nil {
			err = fmt.Errorf("provider %T sent a code of its own but cannot check it", f.Sender)
		}
		if err != nil {
			done(nil, attempts, refundable(err))
			return Sent{}, &Refusal{Kind: SMSFailed, Err: sms.Scrub(err, phone, code)}
		}
		// A provider that picks per message (failover) may have handed
		// it to a member that made a code of its own.
		if res.Remote {
			rec.remote, rec.ref = true, res.Ref
		} else {
			rec.hash = f.hash(ch.ID, phone, code)
		}
	}
	// A new code replaces the old one: there is one record per phone, and
	// it rides on the phone's window, so a pending code costs no entry of
	// its own.
	if err := done(rec.encode(ch.ID), attempts, false); err != nil {
		return Sent{}, unavailable("code", err)
	}
	if !withheld {
		reason = ""
	}
	return Sent{Challenge: ch, Withheld: withheld, Reason: reason, Flagged: flagged, Paused: v.paused}, nil
}

// refundable reports whether a failed send is taken back from every
// limit: only a definite refusal before delivery (a provider's 4xx, a
// refused connection) is. A timeout, a reset or a 5xx may have texted
// the code, and refunding those would let a client pump SMS through a
// slow gateway without limit.
func refundable(err error) bool { return sms.Definite(err) }

// Verify checks code against the challenge the browser holds. It returns
// nil when the code is right; the code is then used up.
//
// Its store work is two batches (docs/performance.md): the reads with
// the reservation of an attempt, then, for a right code, the use of the
// code with what a verified code writes. A wrong code costs the first
// alone (and a second when it blocks); a verify that compared no code
// (no such code, a blocked phone) gives its attempt back in a second.
func (f *Flow) Verify(ctx context.Context, ch Challenge, code string) error {
	if len(code) != f.CodeLength || !allDigits(code) || len(ch.ID) != IDLen {
		return refuse(InvalidRequest)
	}
	codeKey, attKey := f.k("p", ch.Phone), f.k("att", ch.Phone)
	var g *verifyGuard
	if f.Policy.Permits(ch.Phone) {
		g = f.newVerifyGuard(ch.Phone)
	}
	// Reserve an attempt before comparing: with n taken atomically, no
	// number of parallel guesses gets more than maxAttempts comparisons.
	// Attempts and blocks are durable: a restart hands out no new guesses.
	var reads ops
	blockI := reads.add(get(f.k("block", ch.Phone)))
	recI := reads.add(store.Op{Kind: store.OpAttached, Key: codeKey})
	attI := reads.add(store.Op{Kind: store.OpIncr, Key: attKey, Delta: 1, TTL: f.BlockFor, Durable: true})
	g.read(&reads)
	err := f.run(ctx, reads)
	// giveBack returns the attempt of a verify that compared no code: it
	// changes nothing in the end.
	giveBack := func() {
		if reads[attI].Err == nil {
			f.run(context.WithoutCancel(ctx), ops{{Kind: store.OpIncr, Key: attKey, Delta: -1, TTL: undoTTL, Durable: true}})
		}
	}
	if err != nil {
		giveBack()
		return unavailable("read", err)
	}
	if op := reads[blockI]; op.Err == nil {
		giveBack()
		return &Refusal{Kind: Blocked, RetryAfter: max(op.Left, time.Second)}
	}
	rec := reads[recI].Out
	if errors.Is(reads[recI].Err, store.ErrNotFound) {
		giveBack()
		return refuse(Expired)
	}
	cr, valid := decodeRecord(rec)
	if !valid || cr.idPrefix != ch.ID[:recIDLen] {
		giveBack()
		return refuse(Expired) // replaced by a newer code
	}
	rc, _ := f.Sender.(sms.RemoteChecker)
	if (cr.remote || cr.imitate != CheckedHere) && rc == nil {
		// Sent by a provider that a reload has since replaced with one
		// that cannot ask it: nobody can check this code any more.
		giveBack()
		return refuse(Expired)
	}
	n := reads[attI].N
	if n > int64(f.MaxAttempts) {
		return f.block(ctx, ch.Phone, codeKey)
	}

	var match bool
	if cr.remote {
		match, err = rc.Check(ctx, ch.Phone, code, cr.ref)
	} else if cr.imitate != CheckedHere {
		// A withheld number's challenge: wait and end as a real check
		// would (imitate.go), refusing as its checker does, then compare
		// with the code nobody has.
		err = f.imitateCheck(ctx, ch, cr)
	}
	if err != nil {
		giveBack()
		k := SMSFailed
		if errors.Is(err, sms.ErrTooManyChecks) {
			k = TooManyChecks
		}
		return &Refusal{Kind: k, Err: sms.Scrub(err, ch.Phone, code)}
	}
	if !cr.remote {
		// hmac.Equal compares in constant time.
		match = cr.hash != nil && hmac.Equal(cr.hash, f.hash(ch.ID, ch.Phone, code))
	}

	if !match {
		if left := f.MaxAttempts - int(n); left > 0 {
			return &Refusal{Kind: InvalidCode, AttemptsLeft: left}
		}
		return f.block(ctx, ch.Phone, codeKey)
	}
	// Single use: of two racing right answers only one detaches the
	// record. The attempts go with it, and the guard counts the code.
	done := ops{
		{Kind: store.OpDetach, Key: codeKey, Val: rec},
		{Kind: store.OpDelete, Key: attKey},
	}
	g.write(&done, reads, cr.mark)
	f.run(ctx, done)
	if err := done[0].Err; err != nil {
		return unavailable("consume", err)
	}
	if !done[0].OK {
		// Another verify used the code first: this one's counts go.
		var undo ops
		g.undo(&undo, done)
		f.run(context.WithoutCancel(ctx), undo)
		return refuse(Expired)
	}
	// A code sent before a reload narrowed the rules would give a session
	// that is refused at once: the code is used up, and the visitor starts
	// again. Checked only after a right code, which a withheld number never
	// got, so withheld and allowed numbers still answer alike.
	if !f.Policy.Permits(ch.Phone) {
		return refuse(Expired)
	}
	return nil
}

// block stops codes and verifies for phone for blockFor, and drops its
// code, in one batch. The attempt counter stays: a guess already past the
// block check must still find it spent. It began with the first wrong
// code, so it expires before the block does. (A code is dropped even
// when the block was already set: it was dropped then, and none can be
// sent since.)
func (f *Flow) block(ctx context.Context, phone, codeKey string) error {
	b := ops{
		{Kind: store.OpSetNX, Key: f.k("block", phone), Val: []byte{1}, TTL: f.BlockFor, Durable: true},
		{Kind: store.OpDetach, Key: codeKey},
	}
	f.run(ctx, b)
	if err := b[0].Err; err != nil {
		return unavailable("block", err)
	}
	ok, left := b[0].OK, b[0].Left
	if ok {
		left = f.BlockFor
	}
	return &Refusal{Kind: Blocked, RetryAfter: max(left, time.Second), NewBlock: ok}
}
