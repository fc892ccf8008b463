package session

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/internal/flow"
)

// Challenge is the flow's challenge, the one type for a code on its way
// to a phone. The cookie holds its ID, Phone and Expires; MessageID is
// for the audit log and stays out of the token (Parse leaves it empty).
type Challenge = flow.Challenge

// challengeClaims ride in the short-lived challenge cookie that binds a
// pending code to the browser that asked for it.
type challengeClaims struct {
	jwt.RegisteredClaims
	Return string `json:"ret,omitempty"`
	// ExpMs is the code's expiry in unix milliseconds, rounded up: exp is
	// whole seconds (jwt.NumericDate), and the code page counts resend_after
	// from the send time, which must not come out up to a second early.
	ExpMs int64 `json:"exm,omitempty"`
}

// ChallengeTokens sign the challenge cookie with their own key, derived
// per domain (see DeriveKeys), so a challenge token can never pass as a
// session nor in another domain, and the reverse.
type ChallengeTokens struct {
	key    []byte
	issuer string
	now    func() time.Time
	parser *jwt.Parser
	late   *jwt.Parser // parser, but taking a token up to grace past its exp
}

// NewChallengeTokens returns the challenge tokens signed with key; grace
// is how long past its code's expiry ParseLate still reads one.
func NewChallengeTokens(key []byte, issuer string, now func() time.Time, grace time.Duration) *ChallengeTokens {
	return &ChallengeTokens{
		key: key, issuer: issuer, now: now,
		parser: tokenParser(issuer, now),
		late:   tokenParser(issuer, now, jwt.WithLeeway(grace)),
	}
}

// Sign makes the token of ch, with ret the page to return to once the
// code is verified.
func (t *ChallengeTokens) Sign(ch Challenge, ret string) (string, error) {
	c := challengeClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   ch.Phone,
			ExpiresAt: jwt.NewNumericDate(ch.Expires),
			ID:        ch.ID,
		},
		Return: ret,
		ExpMs:  ch.Expires.Add(time.Millisecond - time.Nanosecond).UnixMilli(),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
}

// Parse reads a live challenge token: the challenge and its return page.
// An expired one fails with jwt.ErrTokenExpired.
func (t *ChallengeTokens) Parse(token string) (Challenge, string, error) {
	return t.parse(t.parser, token)
}

// ParseLate is Parse, but also takes a token whose code expired less than
// grace ago: the page that says "this code has expired" must still know
// the number, to show it and to send a new code to it. Verifying still
// needs Parse.
func (t *ChallengeTokens) ParseLate(token string) (Challenge, string, error) {
	return t.parse(t.late, token)
}

func (t *ChallengeTokens) parse(p *jwt.Parser, token string) (Challenge, string, error) {
	c := new(challengeClaims)
	if _, err := p.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return t.key, nil }); err != nil {
		return Challenge{}, "", err
	}
	if len(c.ID) != idLen || checkSubject(c.Subject) != nil {
		return Challenge{}, "", errors.New("malformed challenge")
	}
	return Challenge{ID: c.ID, Phone: c.Subject, Expires: c.expires()}, c.Return, nil
}

// expires is the code's expiry: exm when it agrees with exp (the same
// second, or the next when rounding up crossed it), else exp.
func (c *challengeClaims) expires() time.Time {
	exp := c.ExpiresAt.Time
	if ms := time.UnixMilli(c.ExpMs); c.ExpMs != 0 && !ms.Before(exp) && ms.Sub(exp) <= time.Second {
		return ms
	}
	return exp
}
