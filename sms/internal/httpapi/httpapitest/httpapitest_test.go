package httpapitest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/sms/internal/httpapi"
)

// send is a toy client of a gateway whose errors are {"code","message"}.
func send(endpoint string, hc *http.Client) error {
	c := httpapi.Caller{Provider: "toy", Version: "v1", HTTPClient: hc}
	var out struct{ ID string }
	return c.JSON(context.Background(), "send", endpoint+"/send", httpapi.Bearer("s3cret"), map[string]string{"to": "+12015550123"}, &out,
		func(raw []byte) (string, string) {
			var e struct{ Code, Message string }
			_ = json.Unmarshal(raw, &e)
			return e.Code, e.Message
		})
}

var gw = Gateway{Path: "/send", Auth: "Bearer s3cret", Version: "v1"}

func TestErrors(t *testing.T) {
	Errors(t, "toy", gw, []Shape{
		{Name: "refused", Status: 400, Body: `{"code":"bad","message":"bad number"}`, Code: "bad", Message: "bad number", Definite: true},
		{Name: "server error", Status: 500, Body: `{"code":"oops","message":"try later"}`, Code: "oops", Message: "try later"},
		{Name: "garbage 200", Status: 200, Body: `{"id":`, WantErr: true},
	}, func(endpoint string) error { return send(endpoint, nil) }, "s3cret")
}

// TestErrorsFails: a shape the client gets wrong, or an error that holds
// a secret, fails the test (run in a child process, which must fail).
func TestErrorsFails(t *testing.T) {
	if os.Getenv("HTTPAPITEST_CHILD") == "1" {
		Errors(t, "toy", gw, []Shape{
			{Name: "wrongly definite", Status: 500, Body: `{"code":"oops","message":"oops"}`, Code: "oops", Message: "oops", Definite: true},
			{Name: "leak", Status: 400, Body: `{"code":"bad","message":"key s3cret is wrong"}`, Code: "bad", Message: "key s3cret is wrong", Definite: true},
		}, func(endpoint string) error { return send(endpoint, nil) }, "s3cret")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestErrorsFails$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HTTPAPITEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child passed:\n%s", out)
	}
	for _, want := range []string{"Definite(", "= false, want true", "holds a secret"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}

func TestTimeout(t *testing.T) {
	Timeout(t, send)
}

func TestSent(t *testing.T) {
	c := httpapi.Caller{Provider: "toy", Version: "v1"}
	Sent(t, gw, 201, map[string]string{"id": "m-1"}, map[string]any{"to": []string{"+12015550123"}}, "m-1", func(endpoint string) (string, error) {
		var out struct{ ID string }
		err := c.JSON(context.Background(), "send", endpoint+"/send", httpapi.Bearer("s3cret"), map[string]any{"to": []string{"+12015550123"}}, &out, nil)
		return out.ID, err
	})
	if JSON(map[string]int{"b": 2, "a": 1}) != `{"a":1,"b":2}` {
		t.Error("JSON does not sort keys")
	}
}

func TestUnsent(t *testing.T) {
	c := httpapi.Caller{Provider: "toy"}
	Unsent(t, func(string) error {
		_, err := httpapi.E164("12 ab")
		return c.Reject("send", err)
	}, func(endpoint string) error {
		if endpoint == "" {
			return nil
		}
		return c.Reject("send", errors.New("no text"))
	})
}
