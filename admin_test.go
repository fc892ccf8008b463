package caddyotp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// newAdminHandler loads a handler as a config would, so that the admin
// API reaches it, under an issuer of its own, with a fake provider.
func newAdminHandler(t *testing.T, issuer string) (*Handler, *fakeSMS) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	h, err := loadInConfig(ctx, `{"sms":{"provider":"log"},"issuer":"`+issuer+`","secret":"`+longSecret+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	sender := &fakeSMS{}
	h.flow.Sender = sender
	return h, sender
}

// adminCall runs one admin API request; the error is the caddy.APIError
// Caddy's admin server would answer with.
func adminCall(method, target, body string) (*httptest.ResponseRecorder, error) {
	r := httptest.NewRequest(method, "http://localhost:2019"+target, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:5000"
	w := httptest.NewRecorder()
	return w, adminAPI{}.serve(w, r)
}

func wantAPIError(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var ae caddy.APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != status || !strings.Contains(ae.Message, msg) {
		t.Errorf("err %v, want %d %q", err, status, msg)
	}
}

func TestAdminRequestsRefused(t *testing.T) {
	newAdminHandler(t, "admin-unit-refused")
	const q = "?issuer=admin-unit-refused"
	for _, tc := range []struct {
		name, method, target, body string
		status                     int
		msg                        string
	}{
		{"no such endpoint", "GET", "/phone_otp/nope", "", 404, "no such phone_otp admin endpoint"},
		{"list by POST", "POST", "/phone_otp/", "", 405, "use GET"},
		{"blocked by POST", "POST", "/phone_otp/blocked" + q, "", 405, "use GET"},
		{"unblock by GET", "GET", "/phone_otp/unblock" + q, "", 405, "use POST"},
		{"not JSON", "POST", "/phone_otp/unblock" + q, `phone=+12015550123`, 400, "must be JSON"},
		{"unknown field", "POST", "/phone_otp/unblock" + q, `{"phone":"+12015550123","all":true}`, 400, "must be JSON"},
		{"trailing garbage", "POST", "/phone_otp/unblock" + q, `{"phone":"+12015550123"} x`, 400, "must be JSON"},
		{"a second value", "POST", "/phone_otp/unblock" + q, `{"phone":"+12015550123"} {"phone":"+12015550124"}`, 400, "must be JSON"},
		{"a stray brace", "POST", "/phone_otp/revoke" + q, `{"phone":"+12015550123"}}`, 400, "must be JSON"},
		{"bad phone", "POST", "/phone_otp/revoke" + q, `{"phone":"2015550123"}`, 400, "E.164"},
		{"no such issuer", "GET", "/phone_otp/blocked?issuer=nobody", "", 404, `no phone_otp handler with issuer "nobody"`},
		{"issuer in the body", "POST", "/phone_otp/unblock", `{"phone":"+12015550123","issuer":"nobody"}`, 404, `"nobody"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := adminCall(tc.method, tc.target, tc.body)
			wantAPIError(t, err, tc.status, tc.msg)
			if err != nil && strings.Contains(err.Error(), "2015550123") {
				t.Errorf("the error repeats the input: %v", err)
			}
			if tc.status == 405 && tc.target != "/phone_otp/" && w.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestAdminBlockedAndUnblock(t *testing.T) {
	h, sender := newAdminHandler(t, "admin-unit-block")
	const q = "?issuer=admin-unit-block"
	ctx := context.Background()
	sent, err := h.flow.Send(ctx, phoneA, "192.0.2.1", "example.com")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.flow.Verify(ctx, sent.Challenge, wrongCode(sender.Last(t).Code))
	}
	w, err := adminCall("GET", "/phone_otp/blocked"+q, "")
	if err != nil {
		t.Fatal(err)
	}
	got := wantJSON(t, w, 200, map[string]any{"issuer": "admin-unit-block"})
	if list, _ := got["blocked"].([]any); len(list) != 1 || list[0].(map[string]any)["phone"] != phoneA || list[0].(map[string]any)["retry_after"].(float64) != 900 {
		t.Fatalf("blocked %v, want %s for 900s", got["blocked"], phoneA)
	}

	for _, was := range []bool{true, false} {
		w, err := adminCall("POST", "/phone_otp/unblock"+q, `{"phone":"`+phoneA+`"}`)
		if err != nil {
			t.Fatal(err)
		}
		wantJSON(t, w, 200, map[string]any{"phone": phoneA, "was_blocked": was})
	}
	w, _ = adminCall("GET", "/phone_otp/blocked"+q, "")
	if got := wantJSON(t, w, 200, nil); len(got["blocked"].([]any)) != 0 {
		t.Errorf("still blocked after unblock: %v", got["blocked"])
	}
}

func TestAdminRevoke(t *testing.T) {
	h, _ := newAdminHandler(t, "admin-unit-revoke")
	before := h.now().Unix()
	tok, _, err := h.sessions.Issue(phoneA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := h.sessions.Issue(phoneB, "", "")
	w, err := adminCall("POST", "/phone_otp/revoke", `{"phone":"`+phoneA+`","issuer":"admin-unit-revoke"}`)
	if err != nil {
		t.Fatal(err)
	}
	got := wantJSON(t, w, 200, map[string]any{"status": "revoked", "phone": phoneA})
	if until, _ := got["issued_until"].(float64); int64(until) < before || int64(until) > h.now().Unix() {
		t.Errorf("issued_until %v, want the time of the call", got["issued_until"])
	}
	if _, err := h.sessions.Lookup(context.Background(), tok); err == nil {
		t.Error("the revoked phone's session still passes")
	}
	if _, err := h.sessions.Lookup(context.Background(), other); err != nil {
		t.Errorf("another phone's session was ended: %v", err)
	}
}

func TestRemoteIP(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1:5000": "127.0.0.1", "[::1]:5000": "::1", "@": "@"} {
		if got := remoteIP(&http.Request{RemoteAddr: in}); got != want {
			t.Errorf("remoteIP(%q) = %q, want %q", in, got, want)
		}
	}
}
