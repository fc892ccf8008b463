package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// TestSendDefinite: only a refusal before delivery is definite. A 2xx
// that success does not list took the request all the same, so its
// outcome is unknown; a 4xx, or input refused before the call, is
// definite.
func TestSendDefinite(t *testing.T) {
	tests := []struct {
		name, phone string
		status      int
		success     []int
		definite    bool
	}{
		{"2xx not counted as success", "+12015550123", 200, []int{202}, false},
		{"5xx", "+12015550123", 503, nil, false},
		{"4xx", "+12015550123", 400, nil, true},
		{"bad phone, no call", "12 ab", 0, nil, true},
	}
	for _, tt := range tests {
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.WriteHeader(tt.status)
		}))
		c := &Client{URL: srv.URL + "/send", Body: `{"to":"{phone}"}`, Success: tt.success, HTTPClient: NewHTTPClient(2 * time.Second)}
		err := c.Send(context.Background(), Message{Phone: tt.phone, Text: "code", Code: "123456"})
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
