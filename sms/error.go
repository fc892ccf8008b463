package sms

import (
	"errors"
	"fmt"
	"net"
	"net/url"
)

// Error is a provider's refusal or failure, with the detail an admin needs
// in the log: Provider (the module name, e.g. "dexatel"), Op (what was
// attempted), Status (the HTTP status the gateway answered, 0 if none),
// Code and Message (the gateway's own error code and text), Err (the
// transport or decoding error), Refused (a refusal in a 2xx answer) and
// Unsent (refused before any request: only then is an error with no answer
// a definite refusal).
// Its Definite method tells a refusal before delivery from an unknown
// outcome. It never holds the code or a secret. It
// is the type the HTTP clients under sms/ return, so their errors need no
// translation.
type Error struct {
	// Provider is the gateway's name, e.g. "twilio".
	Provider string
	// Op is what was attempted, e.g. "send message".
	Op string
	// Status is the HTTP status the gateway answered, 0 if none came.
	Status int
	// Code and Message are the gateway's own error code and text.
	Code    string
	Message string
	// Err is the transport, timeout, decoding or input error, if any.
	Err error
	// Refused, set by a client, says the gateway turned the message down
	// in an answer that is not a 4xx (Vonage refuses inside a 200).
	Refused bool
	// Unsent, set by a client, says no request was made: the input was
	// refused, or the client was not set up. Only then is an error with
	// no answer and no failed dial a refusal before delivery.
	Unsent bool
}

// Definite reports whether the gateway surely did not take the message,
// so that the send may cost the visitor nothing: it refused it (a 4xx,
// or Refused), or the request never reached it (Unsent, or no
// connection was made). Anything else leaves the outcome unknown: a
// timeout, a reset after the request was written, a 5xx, a 2xx whose
// answer could not be read, or an error that says none of this. Unknown
// is the default on purpose: a send refunded wrongly is an SMS an
// attacker pumps for free, one counted wrongly costs a visitor one try.
func (e *Error) Definite() bool {
	switch {
	case e.Refused || (e.Status >= 400 && e.Status <= 499):
		return true
	case e.Status != 0:
		return false // an answer came, and it was no refusal
	case e.Unsent:
		return true
	case e.Err == nil:
		return false
	}
	var multi interface{ Unwrap() []error }
	if errors.As(e.Err, &multi) {
		// failover: definite only if every member's failure was.
		for _, err := range multi.Unwrap() {
			if !Definite(err) {
				return false
			}
		}
		return true
	}
	var ue *url.Error
	if !errors.As(e.Err, &ue) {
		return false // not a transport error: nothing says no call was made
	}
	var oe *net.OpError
	var dns *net.DNSError
	// Only a failed dial or lookup is sure to have written nothing.
	return (errors.As(ue.Err, &oe) && oe.Op == "dial") || errors.As(ue.Err, &dns)
}

// Definite reports whether err is a provider's definite refusal before
// delivery (see Error.Definite): a gateway's 4xx, a refused connection,
// input refused before any call. Only such a send is refunded; any other
// error, one of a third-party provider's own included, may have
// delivered the code, so it counts against every limit.
func Definite(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Definite()
}

func (e *Error) Error() string {
	s := e.Provider + ": " + e.Op
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Code != "" {
		s += ": code " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }
