package caddyotp

import (
	"fmt"
	"time"
)

// SetPumpingClock makes now the SMS-pumping breakers' clock of issuer's
// live handlers; a reload makes new handlers, which need it set again.
// For the integration tests, which step a fake clock to cross the
// breakers' windows and pauses.
func SetPumpingClock(issuer string, now func() time.Time) error {
	hs, err := handlersOf(issuer)
	if err != nil {
		return fmt.Errorf("set the pumping clock: %w", err)
	}
	for _, h := range hs {
		h.pumpingClock.Store(&now)
	}
	return nil
}
