package caddyotp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store"
)

// limitWindow is the fixed window of limit_phone, limit_ip and limit_global.
const limitWindow = time.Hour

// Outcome kinds: every way a send or verify can end other than success.
// outcomeTable (respond.go) maps each to one HTTP status and error code.
type kind int

const (
	kindInvalidPhone kind = iota + 1
	kindInvalidRequest
	kindRateLimited
	kindBlocked
	kindSMSFailed
	kindInvalidCode
	kindExpired
	kindForbidden
	kindUnavailable
	kindTooManyChecks // the provider checks no more codes of this challenge
)

// refusal is the flow's answer when it does not do what was asked.
type refusal struct {
	kind         kind
	retryAfter   time.Duration // rate_limited, blocked
	attemptsLeft int           // invalid_code
	limit        string        // rate_limited: ip, phone, global or resend
	newBlock     bool          // blocked: this call set the block
	err          error         // the cause, for the log only
}

func (r *refusal) Error() string {
	if r.err != nil {
		return fmt.Sprintf("%s: %v", outcomeTable[r.kind].code, r.err)
	}
	return outcomeTable[r.kind].code
}

func (r *refusal) Unwrap() error { return r.err }

func refuse(k kind) *refusal { return &refusal{kind: k} }

// unavailable wraps a store error: the flow fails closed.
func unavailable(op string, err error) *refusal {
	return &refusal{kind: kindUnavailable, err: fmt.Errorf("store: %s: %w", op, err)}
}

// flow is the login logic: codes, expiry, attempts, blocks and send limits.
// It knows nothing of HTTP. Every decision that must hold across Caddy
// instances is one atomic store call.
type flow struct {
	store  store.Store
	sender sms.Provider
	now    func() time.Time
	ns     string // the protection domain, as key namespace: other domains' counts never mix in
	key    []byte // keys the code hashes

	codeLength  int
	codeTTL     time.Duration
	maxAttempts int
	blockFor    time.Duration
	resendAfter time.Duration
	limitPhone  int
	limitIP     int
	limitGlobal int

	policy  phone.Policy
	message func(code, host string) string

	// A withheld number's send, and under a provider that checks codes
	// each verify of its challenge, imitates a real one (imitate.go):
	// recent are the provider's recent real calls, wait waits; nil: no
	// imitation.
	recent *recentProvider
	wait   func(context.Context, time.Duration) error
}

// challenge is a code on its way to a phone, as the browser holds it.
type challenge struct {
	ID      string
	Phone   string
	Expires time.Time
	// MessageID is the provider's id for the SMS, for the audit log; it
	// is not in the challenge cookie.
	MessageID string
}

func (f *flow) remote() (sms.RemoteChecker, bool) {
	rc, ok := f.sender.(sms.RemoteChecker)
	return rc, ok && rc.ChecksRemotely()
}

func (f *flow) k(parts ...string) string {
	s := f.ns
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

// ipRefused reports whether ip was refused a send recently and the
// refusal still stands: then the next send is refused before its body is
// even read, so a flood from one client costs one lookup a request.
func (f *flow) ipRefused(ctx context.Context, ip string) *refusal {
	_, ttl, err := f.store.Get(ctx, f.ns+":ir:"+ipKey(ip))
	if err != nil {
		return nil // not refused, or the store is down: Send decides
	}
	return &refusal{kind: kindRateLimited, retryAfter: max(ttl, time.Second), limit: "ip"}
}

// blocked reports how long phone stays blocked, 0 if it is not.
func (f *flow) blocked(ctx context.Context, phone string) (time.Duration, error) {
	_, ttl, err := f.store.Get(ctx, f.k("block", phone))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return max(ttl, time.Second), nil
}

// Send makes a code for phone and hands it to the provider. ip is the
// client's address, host the site (for the message). A phone the policy
// rules out gets a challenge like any other, but no SMS.
func (f *flow) Send(ctx context.Context, phone, ip, host string) (challenge, error) {
	if left, err := f.blocked(ctx, phone); err != nil {
		return challenge{}, unavailable("block", err)
	} else if left > 0 {
		return challenge{}, &refusal{kind: kindBlocked, retryAfter: left}
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
		{f.k("i", ipk), f.limitIP, 0, "ip"},
		{f.k("p", phone), f.limitPhone, f.resendAfter, "phone"},
		{f.k("g"), f.limitGlobal, 0, "global"},
	}
	global := windows[2]
	taken := 0
	undo := func() {
		for _, w := range windows[:taken] {
			f.store.Unhit(context.WithoutCancel(ctx), w.key)
		}
	}
	for i, w := range windows {
		ok, retry, err := f.store.Hit(ctx, w.key, int64(w.limit), limitWindow, w.gap)
		if err != nil {
			undo()
			return challenge{}, unavailable("limit", err)
		}
		if !ok {
			undo()
			if i == 0 {
				// Remember, so the next sends from ip are refused early.
				f.store.Set(ctx, f.k("ir", ipk), []byte{1}, max(retry, time.Second))
			}
			// Hit does not say which rule refused: a wait no longer than
			// the gap is the gap's (so is a full window's last moments).
			name := w.name
			if w.gap > 0 && retry <= w.gap {
				name = "resend"
			}
			return challenge{}, &refusal{kind: kindRateLimited, retryAfter: max(retry, time.Second), limit: name}
		}
		taken++
	}

	ch := challenge{ID: randomID(), Phone: phone, Expires: f.now().Add(f.codeTTL)}
	var rec codeRecord
	rc, remote := f.remote()
	switch {
	case !f.policy.Permits(phone):
		// Take as long as a real send, and end as one (imitate.go), so
		// that timing tells allowed numbers from others no more than the
		// answer does.
		// It costs what the imitated one cost: its failover attempts,
		// and all of it unless refundable.
		attempts, err := f.imitateSend(ctx)
		f.chargeAttempts(ctx, attempts, global.key, global.limit)
		if err != nil {
			if refundable(err) {
				undo()
			}
			return challenge{}, &refusal{kind: kindSMSFailed, err: err}
		}
		// Store a hash of a code nobody has, so the challenge behaves in
		// every way like a real one: wrong codes count, then it blocks.
		// Under a provider that checks codes, each verify imitates its
		// check too.
		rec.hash = f.hash(ch.ID, phone, randomCode(f.codeLength))
		rec.imitate = remote
	case remote:
		res, err := rc.Send(ctx, sms.Message{Phone: phone, CodeLength: f.codeLength, Host: host, TTL: f.codeTTL})
		ch.MessageID = res.ID
		f.chargeAttempts(ctx, res.Attempts, global.key, global.limit)
		if err != nil {
			if refundable(err) {
				undo()
			}
			return challenge{}, &refusal{kind: kindSMSFailed, err: sms.Scrub(err, phone, "")}
		}
		rec.remote, rec.ref = true, res.Ref
	default:
		code := randomCode(f.codeLength)
		res, err := f.sender.Send(ctx, sms.Message{
			Phone: phone, Code: code, CodeLength: f.codeLength,
			Text: f.message(code, host), Host: host, TTL: f.codeTTL,
		})
		ch.MessageID = res.ID
		f.chargeAttempts(ctx, res.Attempts, global.key, global.limit)
		if err == nil && res.Remote && rc == nil {
			err = fmt.Errorf("provider %T sent a code of its own but cannot check it", f.sender)
		}
		if err != nil {
			if refundable(err) {
				undo()
			}
			return challenge{}, &refusal{kind: kindSMSFailed, err: sms.Scrub(err, phone, code)}
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
	if err := f.store.Attach(ctx, f.k("p", phone), rec.encode(ch.ID), f.codeTTL); err != nil {
		return challenge{}, unavailable("code", err)
	}
	return ch, nil
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
func (f *flow) chargeAttempts(ctx context.Context, attempts int, key string, limit int) {
	ctx = context.WithoutCancel(ctx)
	for range attempts - 1 {
		if ok, _, err := f.store.Hit(ctx, key, int64(limit), limitWindow, 0); !ok || err != nil {
			return
		}
	}
}

// Verify checks code against the challenge the browser holds. It returns
// nil when the code is right; the code is then used up.
func (f *flow) Verify(ctx context.Context, ch challenge, code string) error {
	if len(code) != f.codeLength || !allDigits(code) || len(ch.ID) != idLen {
		return refuse(kindInvalidRequest)
	}
	if left, err := f.blocked(ctx, ch.Phone); err != nil {
		return unavailable("block", err)
	} else if left > 0 {
		return &refusal{kind: kindBlocked, retryAfter: left}
	}
	codeKey := f.k("p", ch.Phone)
	rec, _, err := f.store.Attached(ctx, codeKey)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(kindExpired)
	}
	if err != nil {
		return unavailable("code", err)
	}
	cr, valid := decodeRecord(rec)
	if !valid || cr.idPrefix != ch.ID[:recIDLen] {
		return refuse(kindExpired) // replaced by a newer code
	}
	rc, _ := f.sender.(sms.RemoteChecker)
	if (cr.remote || cr.imitate) && rc == nil {
		// Sent by a provider that a reload has since replaced with one
		// that cannot ask it: nobody can check this code any more.
		return refuse(kindExpired)
	}

	// Reserve an attempt before comparing: with n taken atomically, no
	// number of parallel guesses gets more than maxAttempts comparisons.
	// Attempts and blocks are durable: a restart hands out no new guesses.
	attKey := f.k("att", ch.Phone)
	n, _, err := store.Durably(f.store).Incr(ctx, attKey, 1, f.blockFor)
	if err != nil {
		return unavailable("attempts", err)
	}
	if n > int64(f.maxAttempts) {
		return f.block(ctx, ch.Phone, codeKey)
	}

	var match bool
	if cr.remote {
		match, err = rc.Check(ctx, ch.Phone, code, cr.ref)
	} else if cr.imitate {
		// A withheld number's challenge: wait and end as a real check
		// would (imitate.go), then compare with the code nobody has.
		err = f.imitateCheck(ctx)
	}
	if err != nil {
		store.Durably(f.store).Incr(context.WithoutCancel(ctx), attKey, -1, f.blockFor)
		k := kindSMSFailed
		if errors.Is(err, sms.ErrTooManyChecks) {
			k = kindTooManyChecks
		}
		return &refusal{kind: k, err: sms.Scrub(err, ch.Phone, code)}
	}
	if !cr.remote {
		// hmac.Equal compares in constant time.
		match = cr.hash != nil && hmac.Equal(cr.hash, f.hash(ch.ID, ch.Phone, code))
	}

	if !match {
		if left := f.maxAttempts - int(n); left > 0 {
			return &refusal{kind: kindInvalidCode, attemptsLeft: left}
		}
		return f.block(ctx, ch.Phone, codeKey)
	}
	// Single use: of two racing right answers only one deletes the record.
	ok, err := f.store.Detach(ctx, codeKey, rec)
	if err != nil {
		return unavailable("consume", err)
	}
	if !ok {
		return refuse(kindExpired)
	}
	f.store.Delete(ctx, attKey)
	return nil
}

// block stops codes and verifies for phone for blockFor, and drops its code.
func (f *flow) block(ctx context.Context, phone, codeKey string) error {
	ok, left, err := store.Durably(f.store).SetNX(ctx, f.k("block", phone), []byte{1}, f.blockFor)
	if err != nil {
		return unavailable("block", err)
	}
	if ok {
		left = f.blockFor
		// The attempt counter stays: a guess already past the block check
		// must still find it spent. It began with the first wrong code, so
		// it expires before the block does.
		f.store.Detach(ctx, codeKey, nil)
	}
	return &refusal{kind: kindBlocked, retryAfter: max(left, time.Second), newBlock: ok}
}

// hash is the keyed hash stored in place of a code: HMAC-SHA256 over the
// challenge id, phone and code, truncated to 128 bits (RFC 2104 allows
// down to half the output; guessing is bounded by max_attempts, not by
// the tag). Binding the id and phone makes a hash useless for any other
// challenge.
func (f *flow) hash(id, phone, code string) []byte {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(phone))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)[:hashLen]
}

const (
	hashLen  = 16
	recIDLen = 6 // how much of the challenge id a record keeps
)

// codeRecord is what the store keeps of a code: the start of the
// challenge id, and either the code's keyed hash or, for a code the
// provider made, that the provider checks it and the provider's Ref.
// imitate marks a withheld number's hash under a provider that checks
// codes: each verify imitates a remote check before comparing.
type codeRecord struct {
	idPrefix string
	hash     []byte
	remote   bool
	imitate  bool
	ref      string
}

// Encoded, a record is the id prefix, a tag ('h' hash, 'w' hash of a
// withheld number whose verifies imitate a remote check, 'r' remote) and
// the hash or the ref: 23 bytes for a hash, small enough for the memory store
// to keep inline, because a flood of pending codes must fit in memory. The
// id prefix tells "replaced by a newer code" from "wrong code"; the hash
// binds the whole id.
func (r codeRecord) encode(id string) []byte {
	out := []byte(id[:recIDLen])
	if r.remote {
		return append(append(out, 'r'), r.ref...)
	}
	if r.imitate {
		return append(append(out, 'w'), r.hash...)
	}
	return append(append(out, 'h'), r.hash...)
}

func decodeRecord(rec []byte) (codeRecord, bool) {
	if len(rec) < recIDLen+1 {
		return codeRecord{}, false
	}
	r := codeRecord{idPrefix: string(rec[:recIDLen])}
	switch body := rec[recIDLen+1:]; rec[recIDLen] {
	case 'h', 'w':
		if len(body) != hashLen {
			return codeRecord{}, false
		}
		r.hash, r.imitate = body, rec[recIDLen] == 'w'
		return r, true
	case 'r':
		r.remote, r.ref = true, string(body)
		return r, true
	}
	return codeRecord{}, false
}

// idLen is the length of randomID's output.
const idLen = 26

// randomID returns 130 random bits as base32 text.
func randomID() string {
	return rand.Text()
}

// randomCode returns n uniformly random decimal digits from crypto/rand.
func randomCode(n int) string {
	out := make([]byte, 0, n)
	var buf [16]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			// 250 is the largest multiple of 10 under 256: rejecting
			// bytes above it keeps every digit equally likely.
			if b < 250 && len(out) < n {
				out = append(out, '0'+b%10)
			}
		}
	}
	return string(out)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
