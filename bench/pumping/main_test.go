package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReceiver: the webhook receiver keeps the code of the text's last
// line (`@host #code`) and refuses a text without one.
func TestReceiver(t *testing.T) {
	rc := &receiver{codes: map[string]string{}}
	post := func(body string) int {
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body)))
		return w.Code
	}
	if c := post(`{"to":"+447400123456","text":"123456 is your code.\n\n@localhost #123456"}`); c != http.StatusAccepted {
		t.Fatalf("status %d", c)
	}
	if code, ok := rc.Code("+447400123456"); !ok || code != "123456" {
		t.Errorf("code %q %v", code, ok)
	}
	if c := post(`{"to":"+447400123457","text":"no code"}`); c != http.StatusBadRequest {
		t.Errorf("a text without a code: %d", c)
	}
	if _, ok := rc.Code("+447400123457"); ok {
		t.Error("a code kept for a text without one")
	}
}

// TestDescribePause: a pause is its scope, key and counts, sends and
// verified first, then whatever other figure the admin API gives.
func TestDescribePause(t *testing.T) {
	p := map[string]any{"scope": "prefix", "key": "+44740010", "sends": 20.0, "verified": 0.0,
		"retry_after": 43012.0, "clients": 1.0, "expired": 20.0, "domain": "site:x"}
	if got, want := describePause(p), "prefix +44740010 (20 sends, 0 verified, 1 clients, 20 expired)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
