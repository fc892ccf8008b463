package session

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/memory"
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

func newSessionFixture(t testing.TB) *sessionFixture {
	t.Helper()
	c := newClock()
	k, err := DeriveKeys(testSecret, "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(c.Now)
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
