package vonage

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
// unknown; Vonage's own refusal (a status other than 0 and 5) is definite.
func TestSendDefinite(t *testing.T) {
	tests := []struct {
		name, to, body string
		status         int
		definite       bool
	}{
		{"HTML 200", "12015550123", "<html>OK</html>", 200, false},
		{"no messages", "12015550123", `{"message-count":"0","messages":[]}`, 200, false},
		{"internal error in a 200", "12015550123", `{"messages":[{"status":"5","error-text":"Internal Error"}]}`, 200, false},
		{"refused in a 200", "12015550123", `{"messages":[{"status":"6","error-text":"Invalid Message"}]}`, 200, true},
		{"5xx", "12015550123", "down", 502, false},
		{"4xx", "12015550123", "no", 401, true},
		{"bad phone, no call", "12 ab", "", 0, true},
	}
	for _, tt := range tests {
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.WriteHeader(tt.status)
			fmt.Fprint(w, tt.body)
		}))
		_, err := client(srv.URL).Send(context.Background(), Message{From: "B", To: tt.to, Text: "code"})
		srv.Close()
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if got := httpapi.Definite(err); got != tt.definite {
			t.Errorf("%s: Definite(%v) = %v, want %v", tt.name, err, got, tt.definite)
		}
		if want := map[bool]int{true: 1, false: 0}[tt.status != 0]; calls != want {
			t.Errorf("%s: %d calls, want %d", tt.name, calls, want)
		}
	}
}
