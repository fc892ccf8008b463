package caddysmstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/sms"
)

// What the providers' fuzz targets share: a gateway that answers every
// call with the status and body the fuzzer picked, in process (no socket,
// so a target runs thousands of calls a second), and the properties every
// provider's answer must have.

// FuzzPhone and FuzzCode are what the fuzz targets send: a code that is
// in no seed, so that a body holding it was made by the fuzzer.
const (
	FuzzPhone = "+12015550123"
	FuzzCode  = "987654"
)

// Gateway is an http.RoundTripper that answers each request with Status
// and Body.
type Gateway struct {
	Status int
	Body   []byte
	// Calls counts the requests made.
	Calls int
}

// RoundTrip answers r with g's status and body.
func (g *Gateway) RoundTrip(r *http.Request) (*http.Response, error) {
	g.Calls++
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: g.Status, Status: http.StatusText(g.Status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(g.Body)),
		ContentLength: int64(len(g.Body)),
		Request:       r,
	}, nil
}

// Client is an *http.Client on g that, as the providers' own, does not
// follow redirects.
func (g *Gateway) Client() *http.Client {
	return &http.Client{Transport: g, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// Answer sets g's answer to a fuzzed status, folded onto 200..599, and
// body.
func (g *Gateway) Answer(status uint16, body []byte) {
	g.Status, g.Body, g.Calls = 200+int(status)%400, body, 0
}

// SeedAnswers adds to f each body with each of the statuses that matter:
// success (200, 201, 202), refusal (400, 401, 404, 429), failure (500,
// 503) and a redirect (302).
func SeedAnswers(f *testing.F, bodies ...string) {
	for _, b := range bodies {
		for _, s := range []int{200, 201, 202, 302, 400, 401, 404, 429, 500, 503} {
			f.Add(uint16(s-200), []byte(b))
		}
	}
}

// Message is the message the fuzz targets send.
var Message = sms.Message{Phone: FuzzPhone, Code: FuzzCode, CodeLength: len(FuzzCode),
	Text: FuzzCode + " is your code\n\n@example.com #" + FuzzCode, Host: "example.com"}

// CheckSend holds the properties of one Send through a provider against
// g's answer: a result or an error, never both nor neither; a result only
// from a 2xx answer, with an id if wantID; an error that is the
// provider's *sms.Error, with the answer's status when it was not a 2xx,
// definite (refunded) exactly for a 4xx, and never definite after a 2xx
// unless the gateway said it refused; and once scrubbed as the flow
// scrubs it, an error that holds neither the whole phone nor the code.
func CheckSend(t *testing.T, g *Gateway, provider string, wantID bool, res sms.Result, err error) {
	t.Helper()
	ok2xx := g.Status >= 200 && g.Status <= 299
	if err == nil {
		if !ok2xx {
			t.Fatalf("HTTP %d %q: sent, %+v", g.Status, g.Body, res)
		}
		if wantID && res.ID == "" {
			t.Fatalf("HTTP %d %q: sent with no id", g.Status, g.Body)
		}
		return
	}
	if res != (sms.Result{}) {
		t.Fatalf("HTTP %d %q: result %+v with error %v", g.Status, g.Body, res, err)
	}
	checkError(t, g, provider, err)
}

// CheckCheck holds the properties of one remote Check against g's
// answer: never a match with an error, a match only from a 2xx answer,
// and any error as CheckSend's.
func CheckCheck(t *testing.T, g *Gateway, provider string, ok bool, err error) {
	t.Helper()
	if ok && (err != nil || g.Status < 200 || g.Status > 299) {
		t.Fatalf("HTTP %d %q: match, with error %v", g.Status, g.Body, err)
	}
	if err != nil {
		checkError(t, g, provider, err)
	}
}

func checkError(t *testing.T, g *Gateway, provider string, err error) {
	t.Helper()
	var e *sms.Error
	if !errors.As(err, &e) || e.Provider != provider {
		t.Fatalf("HTTP %d %q: error %#v is not %s's *sms.Error", g.Status, g.Body, err, provider)
	}
	ok2xx := g.Status >= 200 && g.Status <= 299
	switch {
	case g.Calls == 0:
		t.Fatalf("HTTP %d %q: error %v without a call", g.Status, g.Body, err)
	case !ok2xx && e.Status != g.Status:
		t.Fatalf("HTTP %d %q: error %v has status %d", g.Status, g.Body, err, e.Status)
	case !ok2xx && sms.Definite(err) != (g.Status >= 400 && g.Status <= 499):
		t.Fatalf("HTTP %d %q: error %v, definite %v", g.Status, g.Body, err, sms.Definite(err))
	case ok2xx && sms.Definite(err) && !e.Refused:
		t.Fatalf("HTTP %d %q: error %v is definite, but the gateway did not refuse", g.Status, g.Body, err)
	}
	msg := sms.Scrub(err, FuzzPhone, FuzzCode).Error()
	if strings.Contains(msg, FuzzPhone[1:]) || strings.Contains(msg, FuzzCode) {
		t.Fatalf("HTTP %d %q: scrubbed error %q holds the phone or the code", g.Status, g.Body, msg)
	}
}

// Ctx is the context of the fuzz targets' calls.
var Ctx = context.Background()

// ProvisionFuzz provisions p for a fuzz target, in a Caddy context that
// ends with f; a failure ends f.
func ProvisionFuzz(f *testing.F, p caddy.Provisioner) {
	f.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	f.Cleanup(cancel)
	if err := p.Provision(ctx); err != nil {
		f.Fatal(err)
	}
}
