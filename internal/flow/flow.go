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

// IPRefused reports whether ip was refused a send recently and the
// refusal still stands: then the next send is refused before its body is
// even read, so a flood from one client costs one lookup a request. The
// router asks it first, before it reads the request; Send decides the
// rest. The refusal comes by value: on a flood's path, the caller's
// answer is the only allocation.
func (f *Flow) IPRefused(ctx context.Context, ip string) (Refusal, bool) {
	_, ttl, err := f.Store.Get(ctx, f.NS+":ir:"+ipKey(ip))
	if err != nil {
		return Refusal{}, false // not refused, or the store is down: Send decides
	}
	return Refusal{Kind: RateLimited, RetryAfter: max(ttl, time.Second), Limit: "ip"}, true
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
func (f *Flow) send(ctx context.Context, phone, ip, host, channel string) (Sent, error) {
	if left, err := f.blocked(ctx, phone); err != nil {
		return Sent{}, unavailable("block", err)
	} else if left > 0 {
		return Sent{}, &Refusal{Kind: Blocked, RetryAfter: left}
	}

	// One event in each window, the client's IP first, so a client
	// refused for its own address spends no one else's budget. The phone's
	// window also holds the resend gap. Refused events are not counted.
	// A send that fails keeps its events unless it is refundable: one
	// whose outcome is unknown may have texted the code.
	ipk := ipKey(ip)
	windows := []struct {
		key   string
		limit int
		gap   time.Duration
		name  string // for the audit log and metrics
	}{
		{f.k("i", ipk), f.LimitIP, 0, "ip"},
		{f.k("p", phone), f.LimitPhone, f.ResendAfter, "phone"},
		{f.k("g"), f.LimitGlobal, 0, "global"},
	}
	global := windows[2]
	taken := 0
	undo := func() {
		for _, w := range windows[:taken] {
			f.Store.Unhit(context.WithoutCancel(ctx), w.key)
		}
	}
	for i, w := range windows {
		ok, retry, err := f.Store.Hit(ctx, w.key, int64(w.limit), limitWindow, w.gap)
		if err != nil {
			undo()
			return Sent{}, unavailable("limit", err)
		}
		if !ok {
			undo()
			if i == 0 {
				// Remember, so the next sends from ip are refused early.
				f.Store.Set(ctx, f.k("ir", ipk), []byte{1}, max(retry, time.Second))
			}
			// Hit does not say which rule refused: a wait no longer than
			// the gap is the gap's (so is a full window's last moments).
			name := w.name
			if w.gap > 0 && retry <= w.gap {
				name = "resend"
			}
			return Sent{}, &Refusal{Kind: RateLimited, RetryAfter: max(retry, time.Second), Limit: name}
		}
		taken++
	}

	ch := Challenge{ID: RandomID(), Phone: phone, Expires: f.Now().Add(f.CodeTTL), Channel: channel}
	var rec codeRecord
	rc, remote := f.remote()
	withheld, reason, v, flagged := !f.Policy.Permits(phone), ReasonPolicy, verdict{}, ""
	if !withheld {
		var err error
		if v, err = f.guard(ctx, phone, ip); err != nil {
			undo()
			return Sent{}, unavailable("pumping", err)
		}
		reason, withheld = v.reason, v.reason != ""
		if withheld && f.Pumping.Monitor {
			reason, withheld, flagged = "", false, v.reason
		}
	}
	rec.mark = v.mark
	switch {
	case withheld:
		// Take as long as a real send, and end as one (imitate.go), so
		// that timing tells allowed numbers from others no more than the
		// answer does.
		// It costs what the imitated one cost: its failover attempts,
		// and all of it unless refundable.
		attempts, checks, err := f.imitateSend(ctx, channel)
		f.chargeAttempts(ctx, attempts, global.key, global.limit)
		if err != nil {
			if refundable(err) {
				undo()
			}
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
		ch.MessageID = res.ID
		f.chargeAttempts(ctx, res.Attempts, global.key, global.limit)
		if err != nil {
			if refundable(err) {
				undo()
			}
			return Sent{}, &Refusal{Kind: SMSFailed, Err: sms.Scrub(err, phone, "")}
		}
		rec.remote, rec.ref = true, res.Ref
	default:
		code := RandomCode(f.CodeLength)
		res, err := f.Sender.Send(ctx, sms.Message{
			Phone: phone, Code: code, CodeLength: f.CodeLength,
			Text: f.text(code, host, channel), Host: host, TTL: f.CodeTTL, Channel: channel,
		})
		ch.MessageID = res.ID
		f.chargeAttempts(ctx, res.Attempts, global.key, global.limit)
		if err == nil && res.Remote && rc == nil {
			err = fmt.Errorf("provider %T sent a code of its own but cannot check it", f.Sender)
		}
		if err != nil {
			if refundable(err) {
				undo()
			}
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
	if err := f.Store.Attach(ctx, f.k("p", phone), rec.encode(ch.ID), f.CodeTTL); err != nil {
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

// chargeAttempts counts against limit_global the gateway calls past the
// first that a send made (failover tries members in turn), since each
// may have cost an SMS. Once the window is full the rest are not
// counted: it refuses sends until it ends anyway.
func (f *Flow) chargeAttempts(ctx context.Context, attempts int, key string, limit int) {
	ctx = context.WithoutCancel(ctx)
	for range attempts - 1 {
		if ok, _, err := f.Store.Hit(ctx, key, int64(limit), limitWindow, 0); !ok || err != nil {
			return
		}
	}
}

// Verify checks code against the challenge the browser holds. It returns
// nil when the code is right; the code is then used up.
func (f *Flow) Verify(ctx context.Context, ch Challenge, code string) error {
	if len(code) != f.CodeLength || !allDigits(code) || len(ch.ID) != IDLen {
		return refuse(InvalidRequest)
	}
	if left, err := f.blocked(ctx, ch.Phone); err != nil {
		return unavailable("block", err)
	} else if left > 0 {
		return &Refusal{Kind: Blocked, RetryAfter: left}
	}
	codeKey := f.k("p", ch.Phone)
	rec, _, err := f.Store.Attached(ctx, codeKey)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(Expired)
	}
	if err != nil {
		return unavailable("code", err)
	}
	cr, valid := decodeRecord(rec)
	if !valid || cr.idPrefix != ch.ID[:recIDLen] {
		return refuse(Expired) // replaced by a newer code
	}
	rc, _ := f.Sender.(sms.RemoteChecker)
	if (cr.remote || cr.imitate != CheckedHere) && rc == nil {
		// Sent by a provider that a reload has since replaced with one
		// that cannot ask it: nobody can check this code any more.
		return refuse(Expired)
	}

	// Reserve an attempt before comparing: with n taken atomically, no
	// number of parallel guesses gets more than maxAttempts comparisons.
	// Attempts and blocks are durable: a restart hands out no new guesses.
	attKey := f.k("att", ch.Phone)
	n, _, err := store.Durably(f.Store).Incr(ctx, attKey, 1, f.BlockFor)
	if err != nil {
		return unavailable("attempts", err)
	}
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
		store.Durably(f.Store).Incr(context.WithoutCancel(ctx), attKey, -1, f.BlockFor)
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
	// Single use: of two racing right answers only one deletes the record.
	ok, err := f.Store.Detach(ctx, codeKey, rec)
	if err != nil {
		return unavailable("consume", err)
	}
	if !ok {
		return refuse(Expired)
	}
	f.Store.Delete(ctx, attKey)
	// A code sent before a reload narrowed the rules would give a session
	// that is refused at once: the code is used up, and the visitor starts
	// again. Checked only after a right code, which a withheld number never
	// got, so withheld and allowed numbers still answer alike.
	if !f.Policy.Permits(ch.Phone) {
		return refuse(Expired)
	}
	f.verified(ctx, ch.Phone, cr.mark)
	return nil
}

// block stops codes and verifies for phone for blockFor, and drops its code.
func (f *Flow) block(ctx context.Context, phone, codeKey string) error {
	ok, left, err := store.Durably(f.Store).SetNX(ctx, f.k("block", phone), []byte{1}, f.BlockFor)
	if err != nil {
		return unavailable("block", err)
	}
	if ok {
		left = f.BlockFor
		// The attempt counter stays: a guess already past the block check
		// must still find it spent. It began with the first wrong code, so
		// it expires before the block does.
		f.Store.Detach(ctx, codeKey, nil)
	}
	return &Refusal{Kind: Blocked, RetryAfter: max(left, time.Second), NewBlock: ok}
}
