package flow

import (
	"fmt"
	"time"
)

// Kind is how a send or verify ends other than in success. The HTTP layer
// (respond.go in the module root) alone decides which status and error
// code each kind is answered with.
type Kind int

const (
	InvalidRequest Kind = iota + 1 // a malformed code or challenge
	RateLimited
	Blocked
	SMSFailed
	InvalidCode
	Expired
	Unavailable   // the store failed: the flow fails closed
	TooManyChecks // the provider checks no more codes of this challenge
)

var kindNames = [...]string{
	InvalidRequest: "invalid_request",
	RateLimited:    "rate_limited",
	Blocked:        "blocked",
	SMSFailed:      "sms_failed",
	InvalidCode:    "invalid_code",
	Expired:        "expired",
	Unavailable:    "unavailable",
	TooManyChecks:  "too_many_checks",
}

// String names k as logs and metrics do.
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Refusal is the flow's answer when it does not do what was asked.
type Refusal struct {
	Kind         Kind
	RetryAfter   time.Duration // RateLimited, Blocked
	AttemptsLeft int           // InvalidCode
	Limit        string        // RateLimited: ip, phone, global or resend
	Again        bool          // RateLimited: refused from the mark of the client's last refusal, which was logged
	NewBlock     bool          // Blocked: this call set the block
	Withheld     bool          // SMSFailed: the send was an imitation for a withheld number
	Err          error         // the cause, for the log only
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return fmt.Sprintf("%s: %v", r.Kind, r.Err)
	}
	return r.Kind.String()
}

func (r *Refusal) Unwrap() error { return r.Err }

func refuse(k Kind) *Refusal { return &Refusal{Kind: k} }

// unavailable wraps a store error: the flow fails closed.
func unavailable(op string, err error) *Refusal {
	return &Refusal{Kind: Unavailable, Err: fmt.Errorf("store: %s: %w", op, err)}
}
