package caddyotp

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/ui"
)

// TestFlowKindsInTable: every kind the flow returns has a row, and the
// flow's name for it (its logs, its errors' text) is the row's code.
func TestFlowKindsInTable(t *testing.T) {
	for k := flow.InvalidRequest; k <= flow.TooManyChecks; k++ {
		o, ok := outcomeTable[kind(k)]
		if !ok || o.code != k.String() {
			t.Errorf("flow kind %v: table row %+v, present %v", k, o, ok)
		}
	}
}

// TestWriteRefusalJSON: the hand-written JSON is valid, carries the
// table's status and code, the same sentence as humanMessage (memoized or
// not), and the SPEC's extra fields.
func TestWriteRefusalJSON(t *testing.T) {
	for k, o := range outcomeTable {
		for _, ref := range []*refusal{
			{kind: k, retryAfter: 14*time.Minute + time.Second, attemptsLeft: 2},
			{kind: k, retryAfter: 30 * time.Second, attemptsLeft: 1},
			{kind: k, retryAfter: 3 * 24 * time.Hour}, // past the memo
		} {
			for round := 0; round < 2; round++ { // the second from the memo
				w := httptest.NewRecorder()
				writeRefusalJSON(w, ref, "/_otp/")
				var body map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					t.Fatalf("%s: invalid JSON %q: %v", o.code, w.Body, err)
				}
				if w.Code != o.status || body["error"] != o.code || body["message"] != humanMessage(ref) || body["login"] != "/_otp/" {
					t.Errorf("%s: %d %v", o.code, w.Code, body)
				}
				switch k {
				case kindRateLimited, kindBlocked:
					want := seconds(ref.retryAfter)
					if body["retry_after"] != float64(want) || w.Header().Get("Retry-After") != strconv.FormatInt(want, 10) {
						t.Errorf("%s: retry_after %v, Retry-After %q, want %d", o.code, body["retry_after"], w.Header().Get("Retry-After"), want)
					}
				case kindInvalidCode:
					if body["attempts_left"] != float64(ref.attemptsLeft) {
						t.Errorf("attempts_left %v", body["attempts_left"])
					}
				}
			}
		}
	}
}

// TestEveryCodeHasText: every error code of the outcome table has its
// sentence (err.<code>) in the shipped English texts, and the JSON message
// is the English one whatever the refusal.
func TestEveryCodeHasText(t *testing.T) {
	for k, o := range outcomeTable {
		if got := ui.English().Get("err." + o.code); got == "err."+o.code {
			t.Errorf("no English text err.%s", o.code)
		}
		ref := &refusal{kind: k, retryAfter: 13*time.Minute + 1, attemptsLeft: 1}
		if want := ui.English().Refusal(o.code, ref.retryAfter, ref.attemptsLeft); humanMessage(ref) != want {
			t.Errorf("%s: the JSON message %q, want the English %q", o.code, humanMessage(ref), want)
		}
	}
	if got := humanMessage(&refusal{kind: kindRateLimited, retryAfter: 13*time.Minute + 1}); got != "Too many tries — try again in 14 minutes." {
		t.Errorf("rate_limited: %q", got)
	}
}
