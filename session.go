package caddyotp

import (
	"cmp"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

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

// claims are a session's JWT claims: iss, aud (the protection domain),
// sub (the E.164 phone), iat, exp, jti, usr when a first factor named the
// user, lst (last seen, unix seconds) with idle_timeout, and ip with
// bind_ip.
type claims struct {
	jwt.RegisteredClaims
	User     string `json:"usr,omitempty"`
	LastSeen int64  `json:"lst,omitempty"`
	IP       string `json:"ip,omitempty"`
}

// challengeClaims ride in the short-lived challenge cookie that binds a
// pending code to the browser that asked for it.
type challengeClaims struct {
	jwt.RegisteredClaims
	Return string `json:"ret,omitempty"`
}

// keys are the secrets derived from the configured one. The session key
// is the secret itself, so other services can verify session tokens; the
// rest are derived with HKDF so no two uses share a key.
type keys struct {
	session   []byte
	challenge []byte
	code      []byte
	csrf      []byte
	device    []byte
}

// deriveKeys derives the keys of one protection domain: the derived keys
// are bound to domain, so a challenge, device or CSRF token (and a code
// hash) of one domain is worth nothing in another even with one secret.
// The session key cannot be (it is the secret); sessions carry the domain
// in aud instead.
func deriveKeys(secret []byte, domain string) (keys, error) {
	derive := func(label string) ([]byte, error) {
		return hkdf.Key(sha256.New, secret, nil, "phone_otp "+label+"\x00"+domain, 32)
	}
	k := keys{session: secret}
	var err error
	for _, d := range []struct {
		dst   *[]byte
		label string
	}{{&k.challenge, "challenge"}, {&k.code, "code"}, {&k.csrf, "csrf"}, {&k.device, "device"}} {
		if *d.dst, err = derive(d.label); err != nil {
			return keys{}, err
		}
	}
	return k, nil
}

var errRevoked = errors.New("session revoked")

// storeError is a store failure met while checking a session: the caller
// fails closed with 503 instead of treating the visitor as logged out.
type storeError struct{ err error }

func (e *storeError) Error() string { return "store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// sessions issues, checks and revokes session tokens.
type sessions struct {
	key    []byte
	issuer string
	ttl    time.Duration
	store  store.Store
	ns     string // the protection domain: the store's key namespace and every session's aud
	now    func() time.Time
	parser *jwt.Parser
	cache  *sessionCache
	idle   time.Duration       // idle_timeout; 0: off (sessionpolicy.go)
	accept func(*claims) error // more rules for a fresh token; nil: none
}

func newSessions(key []byte, issuer string, ttl time.Duration, st store.Store, ns string, now func() time.Time) *sessions {
	return &sessions{
		key: key, issuer: issuer, ttl: ttl, store: st, ns: ns, now: now,
		parser: tokenParser(issuer, now, jwt.WithIssuedAt(), jwt.WithAudience(ns)),
		cache:  new(sessionCache),
	}
}

// issue signs a new session for phone (and user, if a first factor named
// one; and the client's ip, kept only with bind_ip).
func (s *sessions) issue(phone, user, ip string) (string, *claims, error) {
	now := s.now()
	c := &claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Audience:  jwt.ClaimStrings{s.ns},
			Subject:   phone,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
			ID:        randomID(),
		},
		User: user,
		IP:   ip,
	}
	if s.idle > 0 {
		c.LastSeen = now.Unix()
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	if err != nil {
		return "", nil, fmt.Errorf("sign session: %w", err)
	}
	return tok, c, nil
}

// parse checks a token's signature, algorithm, issuer, domain (aud),
// times and subject, but not revocation.
func (s *sessions) parse(token string) (*claims, error) {
	c := new(claims)
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

// check is parse plus the revocation checks (see checkRevoked). A store
// error is returned as a *storeError, so the caller can fail closed with
// 503 rather than pass or refuse.
func (s *sessions) check(ctx context.Context, token string) (*claims, error) {
	v, err := s.lookup(ctx, token)
	if err != nil {
		return nil, err
	}
	return v.claims, nil
}

// lookup is check for the hot path: a token verified before is found in
// the cache and only its expiry, and every revalidateEvery its
// revocation, is checked again.
func (s *sessions) lookup(ctx context.Context, token string) (*verified, error) {
	now := s.now()
	v := s.cache.get(token)
	if v == nil {
		c, err := s.parse(token)
		if err != nil {
			return nil, err
		}
		end, err := s.admit(c, now)
		if err != nil {
			return nil, err
		}
		if err := s.checkRevoked(ctx, c); err != nil {
			return nil, err
		}
		v = newVerified(c, now)
		v.exp = end
		s.cache.put(token, v)
		return v, nil
	}
	if now.UnixNano() >= v.exp {
		s.cache.remove(token)
		return nil, jwt.ErrTokenExpired
	}
	if now.UnixNano()-v.checked.Load() >= int64(revalidateEvery) {
		if err := s.checkRevoked(ctx, v.claims); err != nil {
			if errors.Is(err, errRevoked) {
				s.cache.remove(token)
			}
			return nil, err
		}
		v.checked.Store(now.UnixNano())
	}
	return v, nil
}

// checkRevoked checks the session's jti against the revocation list, its
// iat against the phone's revocation time (see revokePhone) and against
// a loss of the store's data (durable.go).
func (s *sessions) checkRevoked(ctx context.Context, c *claims) error {
	_, _, err := s.store.Get(ctx, s.revokedKey(c.ID))
	switch {
	case err == nil:
		return errRevoked
	case !errors.Is(err, store.ErrNotFound):
		return &storeError{err}
	}
	if revoked, err := revokedSince(ctx, s.store, s.phoneRevokedKey(c.Subject), c.IssuedAt); revoked || err != nil {
		return cmp.Or(err, errRevoked)
	}
	// Last, so that a reconnection the calls above made is seen.
	if lost, err := issuedBeforeLoss(ctx, s.store, c.IssuedAt); lost || err != nil {
		return cmp.Or(err, errRevoked)
	}
	return nil
}

// revoke keeps the jti of token (whose claims are c) on the revocation
// list until the token would have expired anyway. This instance forgets
// it at once; others on the same store within revalidateEvery.
func (s *sessions) revoke(ctx context.Context, token string, c *claims) error {
	s.cache.remove(token)
	ttl := c.ExpiresAt.Time.Sub(s.now()) + time.Second
	if ttl <= 0 {
		return nil
	}
	return store.Durably(s.store).Set(ctx, s.revokedKey(c.ID), []byte{1}, ttl)
}

func (s *sessions) revokedKey(jti string) string { return s.ns + ":rev:" + jti }

// revokePhone revokes every session of phone issued until now: tokens
// carry no list of their siblings, so the store keeps the time instead, and
// check refuses sessions of phone issued at or before it. The record lives
// for ttl, which should be the longest session_ttl in use: by then every
// session it revokes has expired anyway.
func (s *sessions) revokePhone(ctx context.Context, phone string, ttl time.Duration) error {
	now := strconv.FormatInt(s.now().Unix(), 10)
	return store.Durably(s.store).Set(ctx, s.phoneRevokedKey(phone), []byte(now), ttl+time.Second)
}

func (s *sessions) phoneRevokedKey(phone string) string { return s.ns + ":revphone:" + phone }

// challengeTokens sign the challenge cookie with their own key, derived
// per domain (see deriveKeys), so a challenge token can never pass as a
// session nor in another domain, and the reverse.
type challengeTokens struct {
	key    []byte
	issuer string
	now    func() time.Time
	parser *jwt.Parser
}

func newChallengeTokens(key []byte, issuer string, now func() time.Time) *challengeTokens {
	return &challengeTokens{
		key: key, issuer: issuer, now: now,
		parser: tokenParser(issuer, now),
	}
}

func (t *challengeTokens) sign(ch challenge, ret string) (string, error) {
	c := challengeClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   ch.Phone,
			ExpiresAt: jwt.NewNumericDate(ch.Expires),
			ID:        ch.ID,
		},
		Return: ret,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
}

func (t *challengeTokens) parse(token string) (challenge, string, error) {
	c := new(challengeClaims)
	if _, err := t.parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return t.key, nil }); err != nil {
		return challenge{}, "", err
	}
	if len(c.ID) != idLen || checkSubject(c.Subject) != nil {
		return challenge{}, "", errors.New("malformed challenge")
	}
	return challenge{ID: c.ID, Phone: c.Subject, Expires: c.ExpiresAt.Time}, c.Return, nil
}

// csrfToken is the form token for a browser's CSRF cookie nonce: an HMAC
// a cross-site page can neither read from the cookie nor compute.
func csrfToken(key []byte, nonce string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func validCSRF(key []byte, nonce, token string) bool {
	if nonce == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(csrfToken(key, nonce)))
}
