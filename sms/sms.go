// Package sms defines how phone_otp hands a one-time code to an SMS
// gateway: the Provider interface and its optional views, the Message and
// Result, the outcome errors, and the masking of numbers for logs. It
// imports neither Caddy nor a provider. A provider is a Caddy module in
// the namespace http.handlers.phone_otp.sms whose instance implements
// Provider; each that ships with phone_otp is a folder sms/<provider>/
// holding its plain client and, beside it, its module, and third parties
// add their own the same way.
package sms

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Namespace is the Caddy module namespace of SMS providers.
const Namespace = "http.handlers.phone_otp.sms"

// DefaultTimeout bounds one call to a provider when its `timeout` is unset.
const DefaultTimeout = 10 * time.Second

// Message is one code to deliver.
type Message struct {
	// Phone is the destination in E.164 form, with the leading '+'.
	Phone string
	// Code is the one-time code the plugin made. It is empty when the
	// provider makes the code itself (see RemoteChecker).
	Code string
	// CodeLength is the number of digits the code has, or should have when
	// the provider makes it.
	CodeLength int
	// Text is the whole SMS body for providers that send free text: the
	// site's message template with the code filled in, ending with the
	// origin-bound line "@host #code".
	Text string
	// Host is the site the code is for, without a port.
	Host string
	// TTL is how long the code stays valid.
	TTL time.Duration
	// Channel is how to deliver it: ChannelDefault (the provider's own
	// channel) or ChannelCall, a voice call, which only a Caller that
	// CanCall is handed. For a call, Text is VoiceText.
	Channel string
}

// Result is what a provider reports about an accepted message.
type Result struct {
	// ID is the provider's id for the message or verification, for logs.
	ID string
	// Remote reports that the provider made and sent a code of its own
	// instead of Message.Code, so the code must be checked with Check.
	// It is implied when ChecksRemotely is true; a provider that picks
	// per message (failover) sets it, and must be a RemoteChecker.
	Remote bool
	// Ref is the provider's note, for Check, about where the code went:
	// the flow keeps it with the code and hands it back to Check, on
	// whichever Caddy instance the visitor reaches next. Failover names
	// the member that sent the code with it. Short, and never a secret
	// or the code.
	Ref string
	// Attempts is how many gateway calls of this send may have delivered
	// the message, for limit_global; 0 reads as 1. Failover counts each
	// member it tried, save those that definitely refused (see
	// Definite), and reports it with its error too.
	Attempts int
}

// Provider delivers codes. Send must honour ctx and the provider's own
// timeout, and must never log the code.
type Provider interface {
	Send(ctx context.Context, m Message) (Result, error)
}

// RemoteChecker is implemented by providers that can make and check codes
// themselves. When ChecksRemotely reports true, the flow calls Send with an
// empty Message.Code and Text and checks what the visitor typed with
// Check; so it does when Send reports Result.Remote. The plugin's own
// expiry, attempt counting and blocking still apply.
type RemoteChecker interface {
	Provider
	ChecksRemotely() bool
	// Check reports whether code is the current, unexpired code for phone.
	// ref is the Result.Ref of the Send that made the code. An error means
	// the provider could not answer, not a wrong code.
	Check(ctx context.Context, phone, code, ref string) (bool, error)
}

// CheckLimiter is implemented by RemoteCheckers whose provider answers
// only so many checks of one verification and refuses the rest with an
// error wrapping ErrTooManyChecks (Twilio Verify: five). phone_otp
// needs the number to answer a withheld number's verifies as the
// provider would have answered a real one's, refusals included.
type CheckLimiter interface {
	// CheckLimit is how many checks of the verification that a Send
	// reporting ref started the provider answers (0: no limit), and how
	// long that verification lasts from its start, sends to the same
	// phone meanwhile included (they continue it, checks and all).
	CheckLimit(ref string) (checks int, lifetime time.Duration)
}

// CheckLimit is p's CheckLimit for ref, or no limit if p has none.
func CheckLimit(p Provider, ref string) (checks int, lifetime time.Duration) {
	if l, ok := p.(CheckLimiter); ok {
		return l.CheckLimit(ref)
	}
	return 0, 0
}

// CodeLengthLimiter is implemented by providers that accept only some code
// lengths, so that a mismatch is a config error at start-up.
type CodeLengthLimiter interface {
	CodeLengthRange() (min, max int)
}

// Scrub returns err with every occurrence of phone's digits and of code
// masked in its text, for a log: a gateway's message may echo the number
// ("Invalid 'To' Phone Number: +12015550123") or, in a URL, the code.
// The result unwraps to err, so errors.As and Definite still see it.
func Scrub(err error, phone, code string) error {
	if err == nil {
		return nil
	}
	return &scrubbed{err: err, phone: phone, code: code}
}

type scrubbed struct {
	err         error
	phone, code string
}

func (s *scrubbed) Error() string { return ScrubText(s.err.Error(), s.phone, s.code) }

func (s *scrubbed) Unwrap() error { return s.err }

// ErrTooManyChecks is wrapped by a RemoteChecker's Check error when the
// provider will check no more codes of this verification (Twilio
// Verify's 60202): the visitor needs a new code, and is told so.
var ErrTooManyChecks = errors.New("the provider checks no more codes of this verification")

// IsError reports whether err came from a provider.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// ScrubText is s with phone's digits masked and code starred out, for a
// log: the text of a gateway's answer may quote both.
func ScrubText(s, phone, code string) string {
	if s == "" {
		return s
	}
	if digits := strings.TrimPrefix(phone, "+"); len(digits) >= 4 {
		masked := MaskPhone("+" + digits)
		s = strings.ReplaceAll(s, "+"+digits, masked)
		s = strings.ReplaceAll(s, digits, strings.TrimPrefix(masked, "+"))
	}
	if code != "" {
		s = strings.ReplaceAll(s, code, strings.Repeat("*", len(code)))
	}
	return s
}
