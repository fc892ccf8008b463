package session

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/store"
)

const (
	testSessionTTL = 12 * time.Hour
	testPhone      = "+12015550123"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-session-test")

type sessionFixture struct {
	clock *clock
	keys  Keys
	s     *Sessions
	ch    *ChallengeTokens
	store store.Store
}

func newSessionFixture(t *testing.T) *sessionFixture {
	t.Helper()
	c := newClock()
	k, err := DeriveKeys(testSecret, "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory(c.Now)
	t.Cleanup(func() { _ = st.Cleanup() })
	return &sessionFixture{
		clock: c,
		keys:  k,
		s:     New(k.Session, "phone_otp", testSessionTTL, st, "otp:test", c.Now),
		ch:    NewChallengeTokens(k.Challenge, "phone_otp", c.Now, testGrace),
		store: st,
	}
}

// b64 is JWT's segment encoding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rawToken assembles header.payload and signs it with HMAC-SHA256, whatever
// the header claims, so that tests can forge algorithm confusion.
func rawToken(t *testing.T, key []byte, header, payload map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	signing := b64(h) + "." + b64(p)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signing))
	return signing + "." + b64(m.Sum(nil))
}

func TestSessionIssueCheckRoundTrip(t *testing.T) {
	f := newSessionFixture(t)
	now := f.clock.Now()

	tok, issued, err := f.s.Issue(testPhone, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.s.Check(context.Background(), tok)
	if err != nil {
		t.Fatalf("check of a fresh session: %v", err)
	}
	if c.Issuer != "phone_otp" || c.Subject != testPhone || c.User != "alice" {
		t.Errorf("claims = iss %q sub %q usr %q", c.Issuer, c.Subject, c.User)
	}
	if c.IssuedAt == nil || !c.IssuedAt.Time.Equal(now) {
		t.Errorf("iat = %v, want %v", c.IssuedAt, now)
	}
	if c.ExpiresAt == nil || !c.ExpiresAt.Time.Equal(now.Add(testSessionTTL)) {
		t.Errorf("exp = %v, want %v", c.ExpiresAt, now.Add(testSessionTTL))
	}
	if c.ID == "" || c.ID != issued.ID {
		t.Errorf("jti = %q, issued %q", c.ID, issued.ID)
	}

	// The wire form holds exactly the documented claims.
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"iss", "aud", "sub", "iat", "exp", "jti", "usr"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("claim %q missing from %s", k, payload)
		}
	}
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if !bytes.Contains(header, []byte(`"alg":"HS256"`)) {
		t.Errorf("header = %s, want alg HS256", header)
	}

	// Without a user, no usr claim; two sessions never share a jti.
	tok2, c2, err := f.s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c2.ID == issued.ID {
		t.Error("two sessions share a jti")
	}
	payload2, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok2, ".")[1])
	if bytes.Contains(payload2, []byte(`"usr"`)) {
		t.Errorf("usr claim present without a user: %s", payload2)
	}
}

func TestSessionCheckRejectsForgeries(t *testing.T) {
	f := newSessionFixture(t)
	now := f.clock.Now()
	key := f.keys.Session

	good := func() map[string]any {
		return map[string]any{
			"iss": "phone_otp",
			"aud": "otp:test",
			"sub": testPhone,
			"iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix(),
			"jti": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		}
	}
	with := func(change func(map[string]any)) map[string]any {
		p := good()
		change(p)
		return p
	}
	hs256 := map[string]any{"alg": "HS256", "typ": "JWT"}
	signWith := func(m jwt.SigningMethod, k any, p map[string]any) string {
		s, err := jwt.NewWithClaims(m, jwt.MapClaims(p)).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// The control: a hand-made token with the good claims passes, so each
	// rejection below is down to the one thing it changes.
	control := rawToken(t, key, hs256, good())
	if _, err := f.s.Check(context.Background(), control); err != nil {
		t.Fatalf("control token rejected: %v", err)
	}

	valid, _, err := f.s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	vp := strings.Split(valid, ".")

	// altered: same signature, payload with another phone.
	altered := func() string {
		payload, _ := base64.RawURLEncoding.DecodeString(vp[1])
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		m["sub"] = "+4915123456789"
		b, _ := json.Marshal(m)
		return vp[0] + "." + b64(b) + "." + vp[2]
	}()

	challengeTok, err := f.ch.Sign(Challenge{ID: newID(), Phone: testPhone, Expires: now.Add(5 * time.Minute)}, "/")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
	}{
		{"alg none", signWith(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good())},
		{"alg none hand-made, empty signature", func() string {
			h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "JWT"})
			p, _ := json.Marshal(good())
			return b64(h) + "." + b64(p) + "."
		}()},
		{"HS384 with the same key", signWith(jwt.SigningMethodHS384, key, good())},
		{"HS512 with the same key", signWith(jwt.SigningMethodHS512, key, good())},
		{"RS256 header, HMAC signature", rawToken(t, key, map[string]any{"alg": "RS256", "typ": "JWT"}, good())},
		{"wrong key", rawToken(t, []byte("another secret of at least thirty-two bytes"), hs256, good())},
		{"wrong key: derived challenge key", rawToken(t, f.keys.Challenge, hs256, good())},
		{"expired", rawToken(t, key, hs256, with(func(p map[string]any) { p["exp"] = now.Add(-time.Second).Unix() }))},
		{"iat in the future", rawToken(t, key, hs256, with(func(p map[string]any) { p["iat"] = now.Add(time.Hour).Unix() }))},
		{"not yet valid", rawToken(t, key, hs256, with(func(p map[string]any) { p["nbf"] = now.Add(time.Hour).Unix() }))},
		{"wrong issuer", rawToken(t, key, hs256, with(func(p map[string]any) { p["iss"] = "someone_else" }))},
		{"missing issuer", rawToken(t, key, hs256, with(func(p map[string]any) { delete(p, "iss") }))},
		{"missing exp", rawToken(t, key, hs256, with(func(p map[string]any) { delete(p, "exp") }))},
		{"missing sub", rawToken(t, key, hs256, with(func(p map[string]any) { delete(p, "sub") }))},
		{"empty sub", rawToken(t, key, hs256, with(func(p map[string]any) { p["sub"] = "" }))},
		{"missing jti", rawToken(t, key, hs256, with(func(p map[string]any) { delete(p, "jti") }))},
		{"another domain", rawToken(t, key, hs256, with(func(p map[string]any) { p["aud"] = "otp:other" }))},
		{"aud of other domains only", rawToken(t, key, hs256, with(func(p map[string]any) { p["aud"] = []string{"otp:a", "otp:b"} }))},
		{"missing aud", rawToken(t, key, hs256, with(func(p map[string]any) { delete(p, "aud") }))},
		{"sub not a phone", rawToken(t, key, hs256, with(func(p map[string]any) { p["sub"] = "alice<script>" }))},
		{"sub without +", rawToken(t, key, hs256, with(func(p map[string]any) { p["sub"] = "12015550123" }))},
		{"sub with spaces", rawToken(t, key, hs256, with(func(p map[string]any) { p["sub"] = "+1 201 555 0123" }))},
		{"sub with a newline", rawToken(t, key, hs256, with(func(p map[string]any) { p["sub"] = testPhone + "\n" }))},
		{"sub not a valid number", rawToken(t, key, hs256, with(func(p map[string]any) { p["sub"] = "+1201555012" }))},
		{"sub as a number", rawToken(t, key, hs256, with(func(p map[string]any) { p["sub"] = 12015550123 }))},
		{"wrong key: derived device key", rawToken(t, f.keys.Device, hs256, good())},
		{"wrong key: derived csrf key", rawToken(t, f.keys.CSRF, hs256, good())},
		{"exp as a string", rawToken(t, key, hs256, with(func(p map[string]any) { p["exp"] = "tomorrow" }))},
		{"altered payload", altered},
		{"signature dropped", vp[0] + "." + vp[1] + "."},
		{"segment dropped", vp[0] + "." + vp[1]},
		{"header only", vp[0]},
		{"extra segment", valid + "." + vp[2]},
		{"signature truncated", valid[:len(valid)-4]},
		{"garbage", "not.a.token"},
		{"binary garbage", "\x00\xff\xfe"},
		{"empty", ""},
		{"challenge token as a session", challengeTok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.s.Check(context.Background(), tt.token)
			if err == nil {
				t.Fatalf("accepted: claims %+v", c)
			}
			if c != nil {
				t.Errorf("claims returned with error %v", err)
			}
			if IsStoreError(err) || errors.Is(err, ErrRevoked) {
				t.Errorf("err = %v, want a plain invalid-token error", err)
			}
		})
	}
}

// TestSessionDomain: a session of one domain is refused by another, even
// with the same key and issuer (the session key is the secret itself, so
// only aud tells them apart), and a cache of one never answers for the other.
func TestSessionDomain(t *testing.T) {
	f := newSessionFixture(t)
	other := New(f.keys.Session, "phone_otp", testSessionTTL, f.store, "otp:other", f.clock.Now)
	tok, _, err := f.s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Check(context.Background(), tok); err != nil {
		t.Fatalf("own domain: %v", err)
	}
	if c, err := other.Check(context.Background(), tok); err == nil {
		t.Fatalf("another domain accepted the session: %+v", c)
	}
	if c, err := other.Parse(tok); err == nil {
		t.Fatalf("another domain's parse accepted the session: %+v", c)
	}
}

func TestSessionExpiresWithClock(t *testing.T) {
	f := newSessionFixture(t)
	tok, _, err := f.s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Step(testSessionTTL - time.Second)
	if _, err := f.s.Check(context.Background(), tok); err != nil {
		t.Fatalf("a second before exp: %v", err)
	}
	f.clock.Step(2 * time.Second)
	if _, err := f.s.Check(context.Background(), tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("after exp: err = %v, want jwt.ErrTokenExpired", err)
	}
}

func TestSessionRevocation(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()

	tok, c, err := f.s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Revoke(ctx, tok, c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Check(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked session: err = %v, want ErrRevoked", err)
	}
	if _, err := f.s.Check(ctx, other); err != nil {
		t.Fatalf("revoking one session revoked another: %v", err)
	}

	// The revocation lives as long as the token could, and no longer.
	revKey := f.s.revokedKey(c.ID)
	f.clock.Step(testSessionTTL - time.Minute)
	if _, err := f.s.Check(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked session near its exp: err = %v, want ErrRevoked", err)
	}
	f.clock.Step(time.Minute + 2*time.Second)
	if _, _, err := f.store.Get(ctx, revKey); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revocation entry outlived the token: err = %v", err)
	}
	if _, err := f.s.Check(ctx, tok); err == nil || errors.Is(err, ErrRevoked) {
		t.Errorf("after exp: err = %v, want an expiry error", err)
	}

	// Revoking a token that has already expired stores nothing.
	if err := f.s.Revoke(ctx, tok, c); err != nil {
		t.Errorf("revoke of an expired session: %v", err)
	}
	if _, _, err := f.store.Get(ctx, revKey); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke of an expired session stored an entry: err = %v", err)
	}
}

func TestSessionStoreDownFailsClosed(t *testing.T) {
	c := newClock()
	k, err := DeriveKeys(testSecret, "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	down := errDown
	s := New(k.Session, "phone_otp", testSessionTTL, brokenStore{}, "otp:test", c.Now)
	tok, _, err := s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Check(context.Background(), tok)
	if err == nil || got != nil {
		t.Fatalf("check with the store down = %+v, %v; want an error", got, err)
	}
	if !IsStoreError(err) || !errors.Is(err, down) {
		t.Errorf("err = %v; want a store error wrapping %v", err, down)
	}
	if errors.Is(err, ErrRevoked) {
		t.Errorf("store failure reported as a revocation")
	}
	// An invalid token is refused as invalid, not as a store failure: the
	// store is not even asked.
	if _, err := s.Check(context.Background(), "garbage"); err == nil || IsStoreError(err) {
		t.Errorf("garbage with the store down: err = %v, want an invalid-token error", err)
	}
	live := &Claims{RegisteredClaims: jwt.RegisteredClaims{
		ID: newID(), ExpiresAt: jwt.NewNumericDate(c.Now().Add(time.Hour)),
	}}
	if err := s.Revoke(context.Background(), "", live); !errors.Is(err, down) {
		t.Errorf("revoke with the store down: err = %v, want %v", err, down)
	}
}

func TestChallengeTokens(t *testing.T) {
	f := newSessionFixture(t)
	now := f.clock.Now()
	ch := Challenge{ID: newID(), Phone: testPhone, Expires: now.Add(5 * time.Minute)}

	tok, err := f.ch.Sign(ch, "/app?x=1")
	if err != nil {
		t.Fatal(err)
	}
	got, ret, err := f.ch.Parse(tok)
	if err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if got.ID != ch.ID || got.Phone != ch.Phone || !got.Expires.Equal(ch.Expires) || ret != "/app?x=1" {
		t.Errorf("round trip = %+v %q, want %+v %q", got, ret, ch, "/app?x=1")
	}

	session, _, err := f.s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	hs256 := map[string]any{"alg": "HS256", "typ": "JWT"}
	claimsFor := func(change func(map[string]any)) map[string]any {
		p := map[string]any{"iss": "phone_otp", "sub": testPhone, "exp": now.Add(time.Minute).Unix(), "jti": ch.ID}
		change(p)
		return p
	}
	control := rawToken(t, f.keys.Challenge, hs256, claimsFor(func(map[string]any) {}))
	if _, _, err := f.ch.Parse(control); err != nil {
		t.Fatalf("control challenge rejected: %v", err)
	}

	rejects := []struct {
		name  string
		token string
	}{
		{"session token as a challenge", session},
		{"signed with the session key", rawToken(t, f.keys.Session, hs256, claimsFor(func(map[string]any) {}))},
		{"HS512", func() string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims(claimsFor(func(map[string]any) {}))).SignedString(f.keys.Challenge)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}()},
		{"wrong issuer", rawToken(t, f.keys.Challenge, hs256, claimsFor(func(p map[string]any) { p["iss"] = "x" }))},
		{"missing exp", rawToken(t, f.keys.Challenge, hs256, claimsFor(func(p map[string]any) { delete(p, "exp") }))},
		{"missing sub", rawToken(t, f.keys.Challenge, hs256, claimsFor(func(p map[string]any) { delete(p, "sub") }))},
		{"short jti", rawToken(t, f.keys.Challenge, hs256, claimsFor(func(p map[string]any) { p["jti"] = "x" }))},
		{"sub not a phone", rawToken(t, f.keys.Challenge, hs256, claimsFor(func(p map[string]any) { p["sub"] = "alice<script>" }))},
		{"another domain's challenge key", func() string {
			k, err := DeriveKeys(testSecret, "otp:other")
			if err != nil {
				t.Fatal(err)
			}
			return rawToken(t, k.Challenge, hs256, claimsFor(func(map[string]any) {}))
		}()},
		{"garbage", "a.b.c"},
		{"empty", ""},
	}
	for _, tt := range rejects {
		t.Run(tt.name, func(t *testing.T) {
			if got, _, err := f.ch.Parse(tt.token); err == nil {
				t.Fatalf("accepted: %+v", got)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		f.clock.Step(5*time.Minute + time.Second)
		_, _, err := f.ch.Parse(tok)
		if !errors.Is(err, jwt.ErrTokenExpired) {
			t.Fatalf("err = %v, want jwt.ErrTokenExpired", err)
		}
	})
}

func TestDeriveKeys(t *testing.T) {
	k1, err := DeriveKeys(testSecret, "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := DeriveKeys(append([]byte(nil), testSecret...), "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	other, err := DeriveKeys([]byte("a different secret, also 32+ bytes long"), "otp:test")
	if err != nil {
		t.Fatal(err)
	}

	named := func(k Keys) map[string][]byte {
		return map[string][]byte{"session": k.Session, "challenge": k.Challenge, "code": k.Code, "csrf": k.CSRF, "device": k.Device}
	}
	a, b, o := named(k1), named(k2), named(other)
	for name, key := range a {
		if len(key) < MinSecretLen {
			t.Errorf("%s key is %d bytes", name, len(key))
		}
		if !bytes.Equal(key, b[name]) {
			t.Errorf("%s key differs between two derivations from one secret", name)
		}
		if bytes.Equal(key, o[name]) {
			t.Errorf("%s key is the same for two secrets", name)
		}
		for name2, key2 := range a {
			if name != name2 && bytes.Equal(key, key2) {
				t.Errorf("%s and %s keys are equal", name, name2)
			}
		}
	}
	if !bytes.Equal(k1.Session, testSecret) {
		t.Error("session key is not the configured secret (other services verify with it)")
	}

	// Every derived key is bound to the domain; the session key cannot
	// be, so sessions carry it in aud (TestSessionDomain).
	dk, err := DeriveKeys(testSecret, "otp:other")
	if err != nil {
		t.Fatal(err)
	}
	d := named(dk)
	for name, key := range a {
		if name != "session" && bytes.Equal(key, d[name]) {
			t.Errorf("%s key is the same for two domains", name)
		}
	}
}

func TestCSRF(t *testing.T) {
	k, err := DeriveKeys(testSecret, "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	other, err := DeriveKeys(testSecret, "otp:other")
	if err != nil {
		t.Fatal(err)
	}
	nonce := newID()
	tok := CSRFToken(k.CSRF, nonce)
	tests := []struct {
		name         string
		key          []byte
		nonce, token string
		want         bool
	}{
		{"right token", k.CSRF, nonce, tok, true},
		{"wrong nonce", k.CSRF, newID(), tok, false},
		{"wrong key", k.Code, nonce, tok, false},
		{"another domain's key", other.CSRF, nonce, tok, false},
		{"empty nonce", k.CSRF, "", CSRFToken(k.CSRF, ""), false},
		{"empty token", k.CSRF, nonce, "", false},
		{"both empty", k.CSRF, "", "", false},
		{"truncated token", k.CSRF, nonce, tok[:len(tok)-1], false},
		{"nonce as token", k.CSRF, nonce, nonce, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidCSRF(tt.key, tt.nonce, tt.token); got != tt.want {
				t.Errorf("validCSRF = %v, want %v", got, tt.want)
			}
		})
	}
	if CSRFToken(k.CSRF, nonce) != tok {
		t.Error("csrfToken is not deterministic")
	}
}

// TestSessionCacheRevalidates: a cached session is re-checked against the
// store at most once per revalidateEvery, and a revocation written by
// another instance (straight into the shared store) takes effect within it.
func TestSessionCacheRevalidates(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	tok, c, err := f.s.Issue(testPhone, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Check(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if f.s.cache.get(tok) == nil {
		t.Fatal("a verified session was not cached")
	}
	// Another instance revokes it through the shared store.
	if err := f.store.Set(ctx, f.s.revokedKey(c.ID), []byte{1}, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(revalidateEvery / 2)
	if _, err := f.s.Check(ctx, tok); err != nil {
		t.Fatalf("within revalidateEvery the cached answer stands: %v", err)
	}
	f.clock.Step(revalidateEvery / 2)
	if _, err := f.s.Check(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after revalidateEvery: err = %v, want ErrRevoked", err)
	}
	if f.s.cache.get(tok) != nil {
		t.Error("a revoked session stayed in the cache")
	}
}

// TestSessionCacheFailsClosed: a cached session due for revalidation with
// the store down is refused as a store error, not passed.
func TestSessionCacheFailsClosed(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	tok, _, _ := f.s.Issue(testPhone, "", "")
	if _, err := f.s.Check(ctx, tok); err != nil {
		t.Fatal(err)
	}
	f.s.store = brokenStore{}
	f.clock.Step(revalidateEvery)
	if _, err := f.s.Check(ctx, tok); !IsStoreError(err) {
		t.Fatalf("err = %v, want a store error", err)
	}
}

// TestSessionCacheExpiry: a cached session expires on time.
func TestSessionCacheExpiry(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	tok, _, _ := f.s.Issue(testPhone, "", "")
	if _, err := f.s.Check(ctx, tok); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(testSessionTTL)
	if _, err := f.s.Check(ctx, tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("err = %v, want expired", err)
	}
}

// failingGets is a store whose Get fails for keys holding part.
type failingGets struct {
	store.Store
	part string
}

func (f failingGets) Get(ctx context.Context, key string) ([]byte, time.Duration, error) {
	if strings.Contains(key, f.part) {
		return nil, 0, errDown
	}
	return f.Store.Get(ctx, key)
}

func TestSessionRevokePhone(t *testing.T) {
	const otherPhone = "+12015550199"
	f := newSessionFixture(t)
	ctx := context.Background()
	issue := func(phone string) string {
		t.Helper()
		tok, _, err := f.s.Issue(phone, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	before := issue(testPhone)
	user := func() string { // a second-factor session of the same phone
		tok, _, err := f.s.Issue(testPhone, "alice", "")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}()
	other := issue(otherPhone)
	f.clock.Step(10*time.Second + 300*time.Millisecond)
	if err := f.s.RevokePhone(ctx, testPhone, testSessionTTL); err != nil {
		t.Fatal(err)
	}
	sameSecond := issue(testPhone)
	f.clock.Step(time.Second)
	after := issue(testPhone)

	tests := []struct {
		name    string
		token   string
		revoked bool
	}{
		{"issued before", before, true},
		{"second factor, issued before", user, true},
		{"issued in the second of the revocation", sameSecond, true},
		{"issued the second after", after, false},
		{"another phone", other, false},
	}
	for _, tt := range tests {
		_, err := f.s.Check(ctx, tt.token)
		if tt.revoked && !errors.Is(err, ErrRevoked) {
			t.Errorf("%s: err = %v, want ErrRevoked", tt.name, err)
		}
		if !tt.revoked && err != nil {
			t.Errorf("%s: err = %v, want a valid session", tt.name, err)
		}
	}

	// The record outlives every session it revokes (it was set for
	// session_ttl+1s a second ago), and then goes.
	key := f.s.phoneRevokedKey(testPhone)
	if _, ttl, err := f.store.Get(ctx, key); err != nil || ttl != testSessionTTL {
		t.Errorf("record ttl = %v, %v; want %v", ttl, err, testSessionTTL)
	}

	// A session checked (and so cached) before a revocation is refused
	// once its cached check is due, as a jti revocation is.
	f.clock.Step(time.Minute)
	if _, err := f.s.Check(ctx, after); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RevokePhone(ctx, testPhone, testSessionTTL); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Check(ctx, after); err != nil {
		t.Fatalf("within revalidateEvery the cached answer stands: %v", err)
	}
	f.clock.Step(revalidateEvery)
	if _, err := f.s.Check(ctx, after); !errors.Is(err, ErrRevoked) {
		t.Errorf("cached session after a revocation: err = %v, want ErrRevoked", err)
	}

	// A damaged record fails closed.
	fresh := issue(testPhone)
	f.clock.Step(time.Second)
	if err := f.store.Set(ctx, key, []byte("garbage"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Check(ctx, fresh); !errors.Is(err, ErrRevoked) {
		t.Errorf("damaged record: err = %v, want ErrRevoked", err)
	}

	// A store that cannot answer for the phone fails closed with a store error.
	s := New(f.keys.Session, "phone_otp", testSessionTTL, failingGets{f.store, ":revphone:"}, "otp:test", f.clock.Now)
	if _, err := s.Check(ctx, other); !IsStoreError(err) {
		t.Errorf("store down for the phone record: err = %v, want a store error", err)
	}
}

// TestSessionCacheBounded: past maxCached entries the cache starts afresh
// (its sessions then cost one full verification each), and a session
// removed or never put is not found.
func TestSessionCacheBounded(t *testing.T) {
	defer func(n int64) { maxCached = n }(maxCached)
	maxCached = 4
	c := new(cache)
	for i := range 4 {
		c.put(fmt.Sprint("tok", i), &Verified{})
	}
	c.put("tok1", &Verified{}) // replacing one does not count twice
	if n := c.n.Load(); n != 4 {
		t.Fatalf("count = %d after 4 distinct tokens, want 4", n)
	}
	c.remove("tok3")
	c.remove("tok3")
	if c.get("tok3") != nil || c.n.Load() != 3 {
		t.Fatalf("after remove: found=%v count=%d, want absent and 3", c.get("tok3") != nil, c.n.Load())
	}
	c.put("tok4", &Verified{})
	c.put("tok5", &Verified{}) // the fifth distinct entry: start afresh
	if c.get("tok0") != nil || c.get("tok4") != nil {
		t.Error("the cache kept entries past its bound")
	}
	if c.get("tok5") == nil || c.n.Load() != 1 {
		t.Errorf("after starting afresh: tok5 found=%v count=%d, want found and 1", c.get("tok5") != nil, c.n.Load())
	}
	if c.get("never") != nil {
		t.Error("an unknown token was found")
	}
}
