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
