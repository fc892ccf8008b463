// Package httpapitest holds the checks every SMS client built on httpapi
// must pass, so that each client's tests state only its provider's wire
// format: the error shapes its gateway answers with, and what it sends.
package httpapitest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// Gateway is what the fake gateway checks on every request (see
// fakegw.JSONAPI): the path, the Authorization header and the version in
// the User-Agent.
type Gateway struct {
	Path, Auth, Version string
}

// Shape is one answer a gateway may give to a send, and what the client
// must make of it.
type Shape struct {
	// Name names the subtest.
	Name string
	// Status and Body are the gateway's answer.
	Status int
	Body   string
	// Code and Message are what the *Error must hold of the answer.
	Code, Message string
	// Definite is whether the send is surely refused.
	Definite bool
	// WantErr: the answer could not be used (the *Error has an Err),
	// rather than the gateway saying no.
	WantErr bool
	// ErrStatus is the Status the *Error holds when the client names it
	// itself rather than the answer's; 0 means Status.
	ErrStatus int
}

// Errors serves each shape at gw and checks what send, given the fake
// gateway's URL, makes of it: an *Error of provider holding the shape's
// status, code, message and Err, definite as the shape says, and none of
// secrets in its text.
func Errors(t *testing.T, provider string, gw Gateway, shapes []Shape, send func(endpoint string) error, secrets ...string) {
	t.Helper()
	for _, s := range shapes {
		t.Run(s.Name, func(t *testing.T) {
			srv := fakegw.JSONAPI(t, gw.Path, gw.Auth, gw.Version, s.Status, s.Body, nil)
			err := send(srv.URL())
			var e *httpapi.Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want *Error", err)
			}
			status := s.Status
			if s.ErrStatus != 0 {
				status = s.ErrStatus
			}
			if e.Provider != provider || e.Status != status || e.Code != s.Code || e.Message != s.Message || (e.Err != nil) != s.WantErr {
				t.Errorf("error %+v", e)
			}
			if got := httpapi.Definite(err); got != s.Definite {
				t.Errorf("Definite(%v) = %v, want %v", err, got, s.Definite)
			}
			for _, secret := range secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}
}

// Timeout checks that a send to a gateway that never answers, cut short
// by a client timeout, fails with an unknown outcome: the gateway may
// have taken the message. send makes the call to endpoint with hc.
func Timeout(t *testing.T, send func(endpoint string, hc *http.Client) error) {
	t.Helper()
	err := send(fakegw.Hang(t), httpapi.NewHTTPClient(50*time.Millisecond))
	if err == nil || httpapi.Definite(err) {
		t.Errorf("timeout: %v, want an unknown outcome", err)
	}
}

// JSON is v encoded as JSON, map keys sorted; "" if it cannot be.
func JSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Sender is a client: its Send sends m and returns the gateway's id.
type Sender[M any] interface {
	Send(ctx context.Context, m M) (string, error)
}

// Send is a send of m by the client that c makes for endpoint, as
// Errors and Unsent take it.
func Send[C Sender[M], M any](c func(endpoint string) C, m M) func(endpoint string) error {
	return func(endpoint string) error {
		_, err := c(endpoint).Send(context.Background(), m)
		return err
	}
}

// Sent has the fake gateway at gw answer status and answer (JSON-encoded
// unless a string) and checks that m, sent by the client that c makes
// for the gateway's URL, was posted as want (the same, compared as JSON
// with sorted keys) and that Send returned wantID.
func Sent[C Sender[M], M any](t *testing.T, gw Gateway, status int, answer, want any, wantID string, c func(endpoint string) C, m M) {
	t.Helper()
	text := func(v any) string {
		if s, ok := v.(string); ok {
			return s
		}
		return JSON(v)
	}
	srv := fakegw.JSONAPI(t, gw.Path, gw.Auth, gw.Version, status, text(answer), func(t *testing.T, b map[string]any) {
		if got := JSON(b); got != text(want) {
			t.Errorf("body %s, want %s", got, text(want))
		}
	})
	id, err := c(srv.URL()).Send(context.Background(), m)
	if err != nil || id != wantID {
		t.Fatalf("Send = %q, %v, want %q", id, err, wantID)
	}
	if srv.Last().Method == "" {
		t.Error("no request was made")
	}
}

// Unsent checks that each send, given the URL of a fake gateway, fails
// as a definite refusal (bad input, a client not set up) before any
// request reaches the gateway.
func Unsent(t *testing.T, sends ...func(endpoint string) error) {
	t.Helper()
	srv := fakegw.NewReply(t, 200, `{}`)
	for i, send := range sends {
		if err := send(srv.URL()); !httpapi.Definite(err) {
			t.Errorf("send %d: %v, want a definite refusal", i, err)
		}
	}
	if srv.Last().Method != "" {
		t.Error("a request was made")
	}
}
