package caddyotp

import "time"

// SetPumpingClock makes now the SMS-pumping breakers' clock for the
// handlers provisioned from here on (pumpingClock), and returns what puts
// the real one back. For the integration tests, which step a fake clock
// to cross the breakers' windows and pauses.
func SetPumpingClock(now func() time.Time) (restore func()) {
	old := pumpingClock
	pumpingClock = now
	return func() { pumpingClock = old }
}
