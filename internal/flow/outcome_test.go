package flow

import (
	"errors"
	"testing"
)

// TestRefusalError: a refusal reads as its kind, then its cause, and
// unwraps to the cause, so logs and errors.Is see what failed.
func TestRefusalError(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	for _, tt := range []struct {
		r    *Refusal
		want string
	}{
		{refuse(Expired), "expired"},
		{&Refusal{Kind: SMSFailed, Err: cause}, "sms_failed: dial tcp: connection refused"},
		{unavailable("limit", cause), "unavailable: store: limit: dial tcp: connection refused"},
		{&Refusal{Kind: 99}, "kind(99)"},
	} {
		if got := tt.r.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if tt.r.Err != nil && !errors.Is(tt.r, cause) {
			t.Errorf("%q does not unwrap to its cause", tt.r)
		}
	}
}
