// Package session holds what a visitor carries once the code is verified:
// the signed session (issued, checked against revocation, admitted and
// renewed under idle_timeout) and its cache for the hot path, the
// challenge, device and CSRF tokens, and the keys they are signed with,
// derived from the one secret. It knows nothing of HTTP: the handler reads
// cookies and passes their values in.
package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/store"
)

// sessionAlg is the only signing algorithm accepted; tokens claiming any
// other (none, RS256 with the secret as a "public key", HS512) fail.
const sessionAlg = "HS256"

// tokenParser is the one way this package reads its tokens: HS256 only
// (so "none", other HMAC sizes and RS256 with the secret as a public key
// all fail), the issuer checked, an exp required, times by now.
func tokenParser(issuer string, now func() time.Time, more ...jwt.ParserOption) *jwt.Parser {
	return jwt.NewParser(append([]jwt.ParserOption{
		jwt.WithValidMethods([]string{sessionAlg}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(now),
	}, more...)...)
}

// Claims are a session's JWT claims: iss, aud (the protection domain),
// sub (the E.164 phone), iat, exp, jti, usr when a first factor named the
// user, lst (last seen, unix seconds) with idle_timeout, and ip with
// bind_ip.
type Claims struct {
	jwt.RegisteredClaims
	User     string `json:"usr,omitempty"`
	LastSeen int64  `json:"lst,omitempty"`
	IP       string `json:"ip,omitempty"`
}

var (
	// ErrRevoked is a session logged out, revoked by an admin for its
	// phone, or issued before a loss of the store's data.
	ErrRevoked = errors.New("session revoked")
	// ErrOtherClient is a session or device of another first-factor user,
	// or (bind_ip) one used from another address.
	ErrOtherClient = errors.New("session belongs to another user or address")
)

// StoreError is a store failure met while checking a session or device:
// the caller fails closed with 503 instead of treating the visitor as
// logged out.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return "store: " + e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// IsStoreError tells a store failure from an invalid or missing session.
func IsStoreError(err error) bool {
	var se *StoreError
	return errors.As(err, &se)
}

// Sessions issues, checks and revokes session tokens.
type Sessions struct {
	key    []byte
	issuer string
	ttl    time.Duration
	store  store.Store
	ns     string // the protection domain: the store's key namespace and every session's aud
	now    func() time.Time
	parser *jwt.Parser
	aud    jwt.ClaimStrings // {ns}, shared by the cached sessions
	shared *Shared          // the cache and the subscription, kept across reloads (shared.go)
	own    bool             // shared is s's alone: Close closes it
	gen    uint64           // this Sessions' generation: which admissions are its own
	cache  *cache           // shared.cache
	push   *pushed          // shared.push; nil: the store does not push revocations

	// Idle is idle_timeout; 0: off (policy.go).
	Idle time.Duration
	// Accept holds more rules for a freshly parsed token (the handler's
	// phone rules and users_file); nil: none.
	Accept func(*Claims) error
	// Mark is a placeholder key that a verified session's Placeholders
	// answer true to: the handler's mark that it set the identity header
	// on a request (see the root's identityMark). "": none.
	Mark string
}

// New returns the sessions of one protection domain ns, signed with key
// (the secret itself: see Keys) and kept for revocation in st.
// If st pushes revocations (store.Revocations), the Sessions subscribe;
// Close ends that.
func New(key []byte, issuer string, ttl time.Duration, st store.Store, ns string, now func() time.Time) *Sessions {
	s := NewShared(st, ns, now).Sessions(key, issuer, ttl, st, ns, now)
	s.own = true
	return s
}

// Issue signs a new session for phone (and user, if a first factor named
// one; and the client's ip, kept only with bind_ip).
func (s *Sessions) Issue(phone, user, ip string) (string, *Claims, error) {
	now := s.now()
	c := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Audience:  jwt.ClaimStrings{s.ns},
			Subject:   phone,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
			ID:        newID(),
		},
		User: user,
		IP:   ip,
	}
	if s.Idle > 0 {
		c.LastSeen = now.Unix()
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	if err != nil {
		return "", nil, fmt.Errorf("sign session: %w", err)
	}
	return tok, c, nil
}

// Parse checks a token's signature, algorithm, issuer, domain (aud),
// times and subject, but not revocation.
func (s *Sessions) Parse(token string) (*Claims, error) {
	c := new(Claims)
	_, err := s.parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return s.key, nil })
	if err != nil {
		return nil, err
	}
	if c.ID == "" {
		return nil, errors.New("session lacks jti")
	}
	if err := checkSubject(c.Subject); err != nil {
		return nil, err
	}
	return c, nil
}

// checkSubject requires a token's sub to be a phone in E.164 form. Only
// this package signs with the keys, but the session key is the secret,
// which other services hold too; and sub goes upstream as the verified
// phone, so "alice<script>" or "+1 201…" must never get there. A cache
// miss only: a token is parsed once per instance.
func checkSubject(sub string) error {
	if _, err := phone.ParseE164(sub); err != nil {
		return errors.New("sub is not a phone in E.164 form")
	}
	return nil
}

// idLen is the length of newID's output: the flow's ids.
const idLen = flow.IDLen

// newID returns 130 random bits as text, as the flow's ids.
func newID() string { return flow.RandomID() }

// Check is Parse plus the revocation checks (see checkRevoked). A store
// error is returned as a *StoreError, so the caller can fail closed with
// 503 rather than pass or refuse.
func (s *Sessions) Check(ctx context.Context, token string) (*Claims, error) {
	v, err := s.Lookup(ctx, token)
	if err != nil {
		return nil, err
	}
	return v.Claims, nil
}

// Lookup is Check for the hot path: a token verified before is found in
// the cache and only its expiry is checked again, and its revocation:
// with a store that pushes revocations, against what was pushed since
// (push.go), with another every revalidateEvery in the store. A session
// cached under another config (before a reload) is admitted again under
// this one's rules, with no store call.
func (s *Sessions) Lookup(ctx context.Context, token string) (*Verified, error) {
	now := s.now()
	v := s.cache.get(token)
	if v == nil {
		var err error
		if v, err = s.fill(ctx, token, now); err != nil {
			return nil, err
		}
	}
	a := v.adm.Load()
	if a.gen != s.gen {
		var err error
		if a, err = s.readmit(v, now); err != nil {
			return nil, err
		}
	}
	if now.UnixNano() >= a.end {
		s.cache.remove(token)
		return nil, jwt.ErrTokenExpired
	}
	if s.push != nil {
		if g := s.push.gen.Load(); v.seen.Load() != g {
			if err := s.recheck(ctx, v, g); err != nil {
				if errors.Is(err, ErrRevoked) {
					s.cache.remove(token)
				}
				return nil, err
			}
		}
		return v, nil
	}
	if now.UnixNano()-v.checked.Load() >= int64(revalidateEvery) {
		if err := s.checkRevoked(ctx, v.Claims); err != nil {
			if errors.Is(err, ErrRevoked) {
				s.cache.remove(token)
			}
			return nil, err
		}
		v.checked.Store(now.UnixNano())
	}
	return v, nil
}

// fill verifies a token the cache does not hold, checks it in the store
// and caches it. Requests that carry one token at once share one store
// check (the first one's; its cancellation does not end it); each parses
// the token itself, so that a bad one costs no store call and no wait.
func (s *Sessions) fill(ctx context.Context, token string, now time.Time) (*Verified, error) {
	c, err := s.Parse(token)
	if err != nil {
		return nil, err
	}
	end, err := s.admit(c, now)
	if err != nil {
		return nil, err
	}
	res, err, _ := s.shared.flight.Do(token, func() (any, error) {
		if v := s.cache.get(token); v != nil {
			return v, nil // filled while this request parsed
		}
		// Read before the store check: a revocation pushed after it
		// changes gen, and the next request looks again.
		var g, e uint64
		live := false
		if s.push != nil {
			g, live, e = s.push.gen.Load(), s.push.live.Load(), s.push.epoch.Load()
		}
		if err := s.checkRevoked(context.WithoutCancel(ctx), c); err != nil {
			return nil, err
		}
		v := newVerified(s, token, c, now)
		v.adm.Store(&admission{gen: s.gen, end: end})
		if live {
			v.epoch.Store(e)
			v.seen.Store(g)
		}
		s.cache.put(v)
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*Verified), nil
}

// readmit admits v, cached under another generation's rules, under s's
// (admit): no store call, and its revocation state stays as it was.
func (s *Sessions) readmit(v *Verified, now time.Time) (*admission, error) {
	end, err := s.admit(v.Claims, now)
	if err != nil {
		s.cache.remove(v.token)
		return nil, err
	}
	a := &admission{gen: s.gen, end: end}
	v.adm.Store(a)
	return a, nil
}

// checkRevoked checks the session's jti against the revocation list, its
// iat against the phone's revocation time (see RevokePhone) and against
// a loss of the store's data (durable.go).
func (s *Sessions) checkRevoked(ctx context.Context, c *Claims) error {
	if revoked, err := revokedIn(ctx, s.store, s.revokedKey(c.ID), s.phoneRevokedKey(c.Subject), c.IssuedAt); revoked || err != nil {
		return cmp.Or(err, ErrRevoked)
	}
	return nil
}

// Revoke keeps the jti of token (whose claims are c) on the revocation
// list until the token would have expired anyway. This instance forgets
// it at once; others on the same store as soon as it is pushed to them,
// or within revalidateEvery with a store that does not push.
func (s *Sessions) Revoke(ctx context.Context, token string, c *Claims) error {
	s.cache.remove(token)
	ttl := c.ExpiresAt.Time.Sub(s.now()) + time.Second
	if ttl <= 0 {
		return nil
	}
	return s.revoke(ctx, s.revokedKey(c.ID), []byte{1}, ttl)
}

func (s *Sessions) revokedKey(jti string) string { return s.ns + ":rev:" + jti }

// RevokePhone revokes every session of phone issued until now: tokens
// carry no list of their siblings, so the store keeps the time instead, and
// Check refuses sessions of phone issued at or before it. The record lives
// for ttl, which should be the longest session_ttl in use: by then every
// session it revokes has expired anyway.
func (s *Sessions) RevokePhone(ctx context.Context, phone string, ttl time.Duration) error {
	now := strconv.FormatInt(s.now().Unix(), 10)
	return s.revoke(ctx, s.phoneRevokedKey(phone), []byte(now), ttl+time.Second)
}

func (s *Sessions) phoneRevokedKey(phone string) string { return s.ns + ":revphone:" + phone }
