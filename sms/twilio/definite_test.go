package twilio

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// TestSendDefinite: only a refusal before delivery is definite. A 2xx
// took the request, so one whose body cannot be read leaves the outcome
// unknown, and the send must count against every limit.
func TestSendDefinite(t *testing.T) {
	tests := []struct {
		name, to, body string
		status         int
		definite       bool
	}{
		{"HTML 200", "+12015550123", "<html>OK</html>", 200, false},
		{"2xx with no sid", "+12015550123", `{}`, 201, false},
		{"failed in a 2xx", "+12015550123", `{"sid":"SM1","status":"failed"}`, 201, false},
		{"5xx", "+12015550123", "down", 503, false},
		{"4xx", "+12015550123", `{"code":21211,"message":"Invalid 'To'"}`, 400, true},
		{"bad phone, no call", "12 ab", "", 0, true},
	}
	for _, tt := range tests {
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.WriteHeader(tt.status)
			fmt.Fprint(w, tt.body)
		}))
		_, errM := messagesClient(srv.URL).SendMessage(context.Background(), MessageRequest{To: tt.to, From: "+15005550006", Body: "code"})
		_, errV := verifyClient(srv.URL).StartVerification(context.Background(), tt.to)
		srv.Close()
		for op, err := range map[string]error{"messages": errM, "verify": errV} {
			if err == nil {
				t.Errorf("%s %s: no error", tt.name, op)
				continue
			}
			if got := httpapi.Definite(err); got != tt.definite {
				t.Errorf("%s %s: Definite(%v) = %v, want %v", tt.name, op, err, got, tt.definite)
			}
		}
		if want := map[bool]int{true: 2, false: 0}[tt.status != 0]; calls != want {
			t.Errorf("%s: %d calls, want %d", tt.name, calls, want)
		}
	}
}
