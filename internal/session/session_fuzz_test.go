package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/internal/phone"
)

// The fuzz targets of the tokens a browser carries back: session,
// challenge and device cookies, and the CSRF form token. A token is made
// of a fuzzed header and payload, signed with the right key (so that the
// fuzzer reaches the claims checks), with another key, or taken as the
// raw cookie value. Whatever a parser accepts must hold the claims it
// promises (HS256, issuer, domain, an E.164 sub, a jti, a live exp), and,
// signed again, parse to the same claims.

// How a fuzzed token is put together.
const (
	tokSigned   = iota // header.payload, signed with the right key
	tokOtherKey        // signed with another key: never accepted
	tokRaw             // the header bytes are the whole token
	tokModes
)

var otherKey = []byte("not the key, not the key, not the key!!")

// fuzzToken is the token a fuzz input stands for; see tokSigned.
func fuzzToken(key []byte, mode byte, header, payload []byte) string {
	switch mode % tokModes {
	case tokRaw:
		return string(header)
	case tokOtherKey:
		key = otherKey
	}
	signing := b64(header) + "." + b64(payload)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signing))
	return signing + "." + b64(m.Sum(nil))
}

// resign is the token of claims, signed with key as this package signs.
func resign(t *testing.T, key []byte, claims jwt.Claims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// checkAccepted holds the claims every accepted token of this package
// has, whatever its kind.
func checkAccepted(t *testing.T, header []byte, c jwt.RegisteredClaims, now time.Time) {
	t.Helper()
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(header, &h); err != nil || h.Alg != sessionAlg {
		t.Fatalf("accepted a token whose header %q is not HS256 (%v)", header, err)
	}
	if c.Issuer != "phone_otp" {
		t.Fatalf("accepted issuer %q", c.Issuer)
	}
	if c.ExpiresAt == nil || now.After(c.ExpiresAt.Time) {
		t.Fatalf("accepted exp %v at %v", c.ExpiresAt, now)
	}
	if e, err := phone.ParseE164(c.Subject); err != nil || e != c.Subject {
		t.Fatalf("accepted sub %q", c.Subject)
	}
	if c.ID == "" {
		t.Fatal("accepted a token without jti")
	}
}

// sessionPayload is a payload the sessions of newSessionFixture accept,
// changed by change.
func sessionPayload(now time.Time, change func(map[string]any)) []byte {
	p := map[string]any{
		"iss": "phone_otp", "aud": "otp:test", "sub": testPhone,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	}
	if change != nil {
		change(p)
	}
	b, _ := json.Marshal(p)
	return b
}

var hs256Header = []byte(`{"alg":"HS256","typ":"JWT"}`)

// FuzzSessionParse: the session cookie. Parse accepts only a token with
// the claims of checkAccepted, in this domain (aud), with an iat not in
// the future; signed again, its claims parse the same; and Lookup (the
// hot path, with its cache) agrees with Parse on a store with no
// revocations, the second time (from the cache) too.
func FuzzSessionParse(f *testing.F) {
	fx := newSessionFixture(f)
	now := fx.clock.Now()
	valid, _, err := fx.s.Issue(testPhone, "alice", "192.0.2.1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(byte(tokRaw), []byte(valid), []byte(nil))
	for _, p := range [][]byte{
		sessionPayload(now, nil),
		sessionPayload(now, func(p map[string]any) { p["sub"] = "+1 201 555 0123" }),
		sessionPayload(now, func(p map[string]any) { p["aud"] = []string{"otp:other", "otp:test"} }),
		sessionPayload(now, func(p map[string]any) { p["aud"] = "otp:other" }),
		sessionPayload(now, func(p map[string]any) { p["exp"] = now.Add(-time.Second).Unix() }),
		sessionPayload(now, func(p map[string]any) { p["exp"] = float64(now.Unix()) + 0.5 }),
		sessionPayload(now, func(p map[string]any) { delete(p, "jti") }),
		sessionPayload(now, func(p map[string]any) { p["iat"] = now.Add(time.Hour).Unix() }),
		sessionPayload(now, func(p map[string]any) { p["usr"], p["lst"], p["ip"] = "alice", now.Unix(), "::1" }),
	} {
		f.Add(byte(tokSigned), hs256Header, p)
		f.Add(byte(tokOtherKey), hs256Header, p)
	}
	f.Add(byte(tokSigned), []byte(`{"alg":"none"}`), sessionPayload(now, nil))
	f.Add(byte(tokSigned), []byte(`{"alg":"HS512"}`), sessionPayload(now, nil))
	f.Add(byte(tokSigned), []byte(`{"alg":"HS256","kid":"x","crit":["exp"]}`), sessionPayload(now, nil))
	f.Fuzz(func(t *testing.T, mode byte, header, payload []byte) {
		tok := fuzzToken(fx.keys.Session, mode, header, payload)
		c, err := fx.s.Parse(tok)
		v, lerr := fx.s.Lookup(context.Background(), tok)
		if (err == nil) != (lerr == nil) {
			t.Fatalf("Parse: %v; Lookup: %v", err, lerr)
		}
		if err != nil {
			return
		}
		if mode%tokModes == tokOtherKey {
			t.Fatal("accepted a token signed with another key")
		}
		if mode%tokModes == tokRaw {
			header, _ = jwt.NewParser().DecodeSegment(strings.Split(tok, ".")[0])
		}
		checkAccepted(t, header, c.RegisteredClaims, now)
		if !slices.Contains(c.Audience, "otp:test") {
			t.Fatalf("accepted aud %q", c.Audience)
		}
		if c.IssuedAt != nil && c.IssuedAt.After(now) {
			t.Fatalf("accepted iat %v after now %v", c.IssuedAt, now)
		}
		if !reflect.DeepEqual(v.Claims, c) {
			t.Fatalf("Lookup's claims %+v, Parse's %+v", v.Claims, c)
		}
		if again, err := fx.s.Lookup(context.Background(), tok); err != nil || !reflect.DeepEqual(again.Claims, c) {
			t.Fatalf("Lookup again: %+v, %v", again, err)
		}
		back, err := fx.s.Parse(resign(t, fx.keys.Session, c))
		if err != nil {
			t.Fatalf("signed again, %+v fails: %v", c, err)
		}
		if !sameClaims(back, c) {
			t.Fatalf("signed again, %+v parses as %+v", c, back)
		}
	})
}

// sameClaims compares session claims as JWT carries them: times to the
// second (jwt.NumericDate's precision when it signs).
func sameClaims(a, b *Claims) bool {
	a2, b2 := *a, *b
	for _, c := range []*Claims{&a2, &b2} {
		for _, d := range []**jwt.NumericDate{&c.ExpiresAt, &c.IssuedAt, &c.NotBefore} {
			if *d != nil {
				*d = jwt.NewNumericDate((*d).Truncate(time.Second))
			}
		}
	}
	return reflect.DeepEqual(a2, b2)
}

// FuzzChallengeParse: the challenge cookie. Parse and ParseLate accept
// only a token with the claims of checkAccepted and an id of the flow's
// length; the code's expiry is exp or at most a second past it; Parse
// refuses what has expired; and Sign of what was read parses the same.
func FuzzChallengeParse(f *testing.F) {
	fx := newSessionFixture(f)
	now := fx.clock.Now()
	ch := Challenge{ID: newID(), Phone: testPhone, Expires: now.Add(5*time.Minute + 123*time.Millisecond)}
	valid, err := fx.ch.Sign(ch, "/app?x=1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(byte(tokRaw), []byte(valid), []byte(nil))
	payload := func(change func(map[string]any)) []byte {
		p := map[string]any{"iss": "phone_otp", "sub": testPhone, "exp": now.Add(time.Minute).Unix(),
			"jti": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ret": "/x", "exm": now.Add(time.Minute).UnixMilli() + 500}
		change(p)
		b, _ := json.Marshal(p)
		return b
	}
	for _, p := range [][]byte{
		payload(func(map[string]any) {}),
		payload(func(p map[string]any) { p["exm"] = now.Add(time.Hour).UnixMilli() }),
		payload(func(p map[string]any) { p["exm"] = -1 }),
		payload(func(p map[string]any) { p["exp"] = now.Add(-time.Minute).Unix() }),
		payload(func(p map[string]any) { p["jti"] = "short" }),
		payload(func(p map[string]any) { p["sub"] = "alice" }),
		payload(func(p map[string]any) { p["ret"] = "//evil.example" }),
	} {
		f.Add(byte(tokSigned), hs256Header, p)
	}
	f.Fuzz(func(t *testing.T, mode byte, header, payload []byte) {
		tok := fuzzToken(fx.keys.Challenge, mode, header, payload)
		ch, ret, err := fx.ch.Parse(tok)
		late, lret, lerr := fx.ch.ParseLate(tok)
		if err == nil && (lerr != nil || late != ch || lret != ret) {
			t.Fatalf("Parse: %+v %q; ParseLate: %+v %q %v", ch, ret, late, lret, lerr)
		}
		if lerr != nil {
			return
		}
		if mode%tokModes == tokOtherKey {
			t.Fatal("accepted a token signed with another key")
		}
		if mode%tokModes == tokRaw {
			header, _ = jwt.NewParser().DecodeSegment(strings.Split(tok, ".")[0])
		}
		c := new(challengeClaims)
		if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
			t.Fatalf("accepted %q, which does not decode: %v", tok, err)
		}
		checkAccepted(t, header, jwt.RegisteredClaims{
			Issuer: c.Issuer, Subject: late.Phone, ID: late.ID,
			ExpiresAt: jwt.NewNumericDate(late.Expires.Add(testGrace)),
		}, now)
		if len(late.ID) != idLen || late.ID != c.ID || late.Phone != c.Subject {
			t.Fatalf("read %+v from %+v", late, c)
		}
		if exp := c.ExpiresAt.Time; late.Expires.Before(exp) || late.Expires.Sub(exp) > time.Second {
			t.Fatalf("code expires %v, token at %v", late.Expires, exp)
		}
		if err == nil && now.After(ch.Expires) {
			t.Fatalf("Parse accepted a code that expired at %v, now %v", ch.Expires, now)
		}
		again, err := fx.ch.Sign(late, lret)
		if err != nil {
			t.Fatal(err)
		}
		back, bret, err := fx.ch.ParseLate(again)
		if err != nil || back.ID != late.ID || back.Phone != late.Phone || !back.Expires.Equal(late.Expires) || bret != lret {
			t.Fatalf("signed again, %+v %q parses as %+v %q, %v", late, lret, back, bret, err)
		}
	})
}

// FuzzDeviceParse: the remember_device cookie. Parse accepts only a
// token with the claims of checkAccepted, a user, and an iat not in the
// future; signed again, its claims parse the same.
func FuzzDeviceParse(f *testing.F) {
	fx := newSessionFixture(f)
	now := fx.clock.Now()
	d := NewDevices(fx.keys.Device, "phone_otp", 30*24*time.Hour, fx.store, "otp:test", fx.clock.Now)
	valid, err := d.Issue("alice", testPhone)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(byte(tokRaw), []byte(valid), []byte(nil))
	for _, p := range [][]byte{
		sessionPayload(now, func(p map[string]any) { p["usr"] = "alice" }),
		sessionPayload(now, func(p map[string]any) { p["usr"] = "" }),
		sessionPayload(now, func(p map[string]any) { p["usr"] = 7 }),
		sessionPayload(now, func(p map[string]any) { p["usr"], p["iat"] = "alice", now.Add(time.Minute).Unix() }),
	} {
		f.Add(byte(tokSigned), hs256Header, p)
	}
	f.Fuzz(func(t *testing.T, mode byte, header, payload []byte) {
		tok := fuzzToken(fx.keys.Device, mode, header, payload)
		c, err := d.Parse(tok)
		if err != nil {
			return
		}
		if mode%tokModes == tokOtherKey {
			t.Fatal("accepted a token signed with another key")
		}
		if mode%tokModes == tokRaw {
			header, _ = jwt.NewParser().DecodeSegment(strings.Split(tok, ".")[0])
		}
		checkAccepted(t, header, c.RegisteredClaims, now)
		if c.User == "" || (c.IssuedAt != nil && c.IssuedAt.After(now)) {
			t.Fatalf("accepted usr %q, iat %v", c.User, c.IssuedAt)
		}
		back, err := d.Parse(resign(t, fx.keys.Device, c))
		if err != nil || back.User != c.User || back.Subject != c.Subject || back.ID != c.ID || back.Issuer != c.Issuer {
			t.Fatalf("signed again, %+v parses as %+v, %v", c, back, err)
		}
	})
}

// FuzzCSRF: the form token against its cookie's nonce. Only the token
// CSRFToken makes of the nonce with the key is valid, and it always is;
// an empty nonce or token never is.
func FuzzCSRF(f *testing.F) {
	fx := newSessionFixture(f)
	nonce := newID()
	f.Add(nonce, CSRFToken(fx.keys.CSRF, nonce))
	f.Add(nonce, CSRFToken(otherKey, nonce))
	f.Add("", "")
	f.Add("", CSRFToken(fx.keys.CSRF, ""))
	f.Add(nonce, "")
	f.Fuzz(func(t *testing.T, nonce, token string) {
		want := CSRFToken(fx.keys.CSRF, nonce)
		ok := ValidCSRF(fx.keys.CSRF, nonce, token)
		if ok != (nonce != "" && token == want) {
			t.Fatalf("ValidCSRF(%q, %q) = %v; the nonce's token is %q", nonce, token, ok, want)
		}
		if nonce != "" && !ValidCSRF(fx.keys.CSRF, nonce, want) {
			t.Fatalf("the token of nonce %q is not valid", nonce)
		}
		if nonce != "" && ValidCSRF(otherKey, nonce, want) {
			t.Fatalf("the token of nonce %q is valid under another key", nonce)
		}
	})
}
