package caddyotp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"time"

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
)

// refusal is the flow's answer when it does not do what was asked.
type refusal struct {
	kind         kind
	retryAfter   time.Duration // rate_limited, blocked
	attemptsLeft int           // invalid_code
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
	ns     string // key namespace, so handlers with other rules don't mix
	key    []byte // keys the code hashes

	codeLength  int
	codeTTL     time.Duration
	maxAttempts int
	blockFor    time.Duration
	resendAfter time.Duration
	limitPhone  int
	limitIP     int
	limitGlobal int

	policy  phonePolicy
	message func(code, host string) string
}

// challenge is a code on its way to a phone, as the browser holds it.
type challenge struct {
	ID      string
	Phone   string
	Expires time.Time
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
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
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

	// Take a slot in each window, the client's IP first, so a client
	// refused for its own address spends no one else's budget. Slots taken
	// are given back if no SMS goes out: a failed send costs nothing.
	var taken []string
	resendKey := f.k("resend", phone)
	undo := func() {
		bg := context.WithoutCancel(ctx)
		for _, key := range taken {
			if key == resendKey {
				f.store.Delete(bg, key)
			} else {
				f.store.Incr(bg, key, -1, limitWindow)
			}
		}
	}
	take := func(key string, limit int) error {
		n, ttl, err := f.store.Incr(ctx, key, 1, limitWindow)
		if err != nil {
			return unavailable("limit", err)
		}
		taken = append(taken, key)
		if n > int64(limit) {
			return &refusal{kind: kindRateLimited, retryAfter: max(ttl, time.Second)}
		}
		return nil
	}
	resend := func() error {
		ok, ttl, err := f.store.SetNX(ctx, resendKey, []byte{1}, f.resendAfter)
		if err != nil {
			return unavailable("resend", err)
		}
		if !ok {
			return &refusal{kind: kindRateLimited, retryAfter: max(ttl, time.Second)}
		}
		taken = append(taken, resendKey)
		return nil
	}
	for _, step := range []func() error{
		func() error { return take(f.k("lim", "ip", ipKey(ip)), f.limitIP) },
		resend,
		func() error { return take(f.k("lim", "phone", phone), f.limitPhone) },
		func() error { return take(f.k("lim", "global"), f.limitGlobal) },
	} {
		if err := step(); err != nil {
			undo()
			return challenge{}, err
		}
	}

	ch := challenge{ID: randomID(), Phone: phone, Expires: f.now().Add(f.codeTTL)}
	var hash []byte
	rc, remote := f.remote()
	switch {
	case !f.policy.permits(phone):
		// Store a hash of a code nobody has, so the challenge behaves in
		// every way like a real one: wrong codes count, then it blocks.
		hash = f.hash(ch.ID, phone, randomCode(f.codeLength))
	case remote:
		_, err := rc.Send(ctx, sms.Message{Phone: phone, CodeLength: f.codeLength, Host: host, TTL: f.codeTTL})
		if err != nil {
			undo()
			return challenge{}, &refusal{kind: kindSMSFailed, err: err}
		}
	default:
		code := randomCode(f.codeLength)
		hash = f.hash(ch.ID, phone, code)
		_, err := f.sender.Send(ctx, sms.Message{
			Phone: phone, Code: code, CodeLength: f.codeLength,
			Text: f.message(code, host), Host: host, TTL: f.codeTTL,
		})
		if err != nil {
			undo()
			return challenge{}, &refusal{kind: kindSMSFailed, err: err}
		}
	}
	// A new code replaces the old one: there is one record per phone.
	if err := f.store.Set(ctx, f.k("code", phone), encodeRecord(ch.ID, hash), f.codeTTL); err != nil {
		return challenge{}, unavailable("code", err)
	}
	return ch, nil
}

// Verify checks code against the challenge the browser holds. It returns
// nil when the code is right; the code is then used up.
func (f *flow) Verify(ctx context.Context, ch challenge, code string) error {
	if len(code) != f.codeLength || !allDigits(code) {
		return refuse(kindInvalidRequest)
	}
	if left, err := f.blocked(ctx, ch.Phone); err != nil {
		return unavailable("block", err)
	} else if left > 0 {
		return &refusal{kind: kindBlocked, retryAfter: left}
	}
	codeKey := f.k("code", ch.Phone)
	rec, _, err := f.store.Get(ctx, codeKey)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(kindExpired)
	}
	if err != nil {
		return unavailable("code", err)
	}
	id, hash := decodeRecord(rec)
	if id != ch.ID {
		return refuse(kindExpired) // replaced by a newer code
	}

	// Reserve an attempt before comparing: with n taken atomically, no
	// number of parallel guesses gets more than maxAttempts comparisons.
	attKey := f.k("att", ch.Phone)
	n, _, err := f.store.Incr(ctx, attKey, 1, f.blockFor)
	if err != nil {
		return unavailable("attempts", err)
	}
	if n > int64(f.maxAttempts) {
		return f.block(ctx, ch.Phone, codeKey, attKey)
	}

	var match bool
	if rc, remote := f.remote(); remote && hash == nil {
		match, err = rc.Check(ctx, ch.Phone, code)
		if err != nil {
			f.store.Incr(context.WithoutCancel(ctx), attKey, -1, f.blockFor)
			return &refusal{kind: kindSMSFailed, err: err}
		}
	} else {
		// hmac.Equal compares in constant time.
		match = hash != nil && hmac.Equal(hash, f.hash(ch.ID, ch.Phone, code))
	}

	if !match {
		if left := f.maxAttempts - int(n); left > 0 {
			return &refusal{kind: kindInvalidCode, attemptsLeft: left}
		}
		return f.block(ctx, ch.Phone, codeKey, attKey)
	}
	// Single use: of two racing right answers only one deletes the record.
	ok, err := f.store.CompareAndDelete(ctx, codeKey, rec)
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
func (f *flow) block(ctx context.Context, phone, codeKey, attKey string) error {
	ok, left, err := f.store.SetNX(ctx, f.k("block", phone), []byte{1}, f.blockFor)
	if err != nil {
		return unavailable("block", err)
	}
	if ok {
		left = f.blockFor
		// The attempt counter stays (it ends before the block does): were
		// it dropped, a guess racing this one would count from zero again
		// and get a comparison beyond max_attempts.
		f.store.Delete(ctx, codeKey)
	}
	return &refusal{kind: kindBlocked, retryAfter: max(left, time.Second)}
}

// hash is the keyed hash stored in place of a code. The challenge id and
// phone are bound in, so a hash is useless for any other challenge.
func (f *flow) hash(id, phone, code string) []byte {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(phone))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// A code record is the challenge id followed by the code's hash (none when
// the provider checks codes itself).
func encodeRecord(id string, hash []byte) []byte {
	return append([]byte(id), hash...)
}

func decodeRecord(rec []byte) (id string, hash []byte) {
	if len(rec) < idLen {
		return "", nil
	}
	if len(rec) > idLen {
		hash = rec[idLen:]
	}
	return string(rec[:idLen]), hash
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
