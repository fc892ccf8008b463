package session

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

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

// TestChallengeParseLate: ParseLate reads a challenge whose code expired
// less than the grace ago, as the "code expired, send a new one" page
// needs, and no later; Parse never reads an expired one.
func TestChallengeParseLate(t *testing.T) {
	f := newSessionFixture(t)
	ch := Challenge{ID: newID(), Phone: testPhone, Expires: f.clock.Now().Add(5 * time.Minute)}
	tok, err := f.ch.Sign(ch, "/app")
	if err != nil {
		t.Fatal(err)
	}
	if got, ret, err := f.ch.ParseLate(tok); err != nil || got.ID != ch.ID || !got.Expires.Equal(ch.Expires) || ret != "/app" {
		t.Fatalf("live token: ParseLate = %+v %q %v, want %+v", got, ret, err, ch)
	}
	f.clock.Step(5*time.Minute + testGrace - time.Second)
	if _, _, err := f.ch.Parse(tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("expired within the grace: Parse err = %v, want jwt.ErrTokenExpired", err)
	}
	got, ret, err := f.ch.ParseLate(tok)
	if err != nil || got.ID != ch.ID || got.Phone != ch.Phone || ret != "/app" {
		t.Errorf("expired within the grace: ParseLate = %+v %q %v, want %+v", got, ret, err, ch)
	}
	f.clock.Step(2 * time.Second)
	if _, _, err := f.ch.ParseLate(tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("past the grace: ParseLate err = %v, want jwt.ErrTokenExpired", err)
	}
	// The leeway is for time only: a forged token stays forged.
	if _, _, err := f.ch.ParseLate(rawToken(t, f.keys.Session, map[string]any{"alg": "HS256"},
		map[string]any{"iss": "phone_otp", "sub": testPhone, "exp": f.clock.Now().Unix(), "jti": ch.ID})); err == nil {
		t.Error("ParseLate accepted a token signed with the session key")
	}
}

// The code page counts resend_after from the send time that the token's
// expiry gives, so the token keeps it to the millisecond, rounded up: exp
// alone is whole seconds, and a page reading it would offer a resend up
// to a second before the server takes one. An exm that disagrees with
// exp is ignored.
func TestChallengeExactExpiry(t *testing.T) {
	f := newSessionFixture(t)
	now := f.clock.Now()
	ch := Challenge{ID: newID(), Phone: testPhone, Expires: now.Add(5*time.Minute + 400*time.Millisecond + 1234)}
	tok, err := f.ch.Sign(ch, "/")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := f.ch.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Expires.Sub(ch.Expires); d < 0 || d >= time.Millisecond {
		t.Errorf("expiry read back %v off the signed one, want within [0, 1ms)", d)
	}

	base := map[string]any{"iss": "phone_otp", "sub": testPhone, "jti": ch.ID, "exp": now.Add(time.Minute).Unix()}
	hs256 := map[string]any{"alg": "HS256", "typ": "JWT"}
	for _, tc := range []struct {
		name string
		exm  any
		want time.Time
	}{
		{"no exm", nil, now.Add(time.Minute)},
		{"exm in exp's second", now.Add(time.Minute + 250*time.Millisecond).UnixMilli(), now.Add(time.Minute + 250*time.Millisecond)},
		{"exm before exp", now.Add(time.Minute - time.Millisecond).UnixMilli(), now.Add(time.Minute)},
		{"exm far after exp", now.Add(time.Hour).UnixMilli(), now.Add(time.Minute)},
	} {
		p := map[string]any{}
		for k, v := range base {
			p[k] = v
		}
		if tc.exm != nil {
			p["exm"] = tc.exm
		}
		got, _, err := f.ch.Parse(rawToken(t, f.keys.Challenge, hs256, p))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !got.Expires.Equal(tc.want) {
			t.Errorf("%s: expiry %v, want %v", tc.name, got.Expires, tc.want)
		}
	}
}
