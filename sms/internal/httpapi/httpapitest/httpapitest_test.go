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

// toy is a client of a gateway whose errors are {"code","message"}.
type toy struct {
	endpoint string
	hc       *http.Client
}

func newToy(endpoint string) toy { return toy{endpoint: endpoint} }

func (c toy) Send(ctx context.Context, to string) (string, error) {
	caller := httpapi.Caller{Provider: "toy", Version: "v1", HTTPClient: c.hc}
	if to == "" {
		return "", caller.Reject("send", errors.New("no phone"))
	}
	var out struct{ ID string }
	err := caller.JSON(ctx, "send", c.endpoint+"/send", httpapi.Bearer("s3cret"), map[string][]string{"to": {to}}, &out,
		func(raw []byte) (string, string) {
			var e struct{ Code, Message string }
			_ = json.Unmarshal(raw, &e)
			return e.Code, e.Message
		})
	return out.ID, err
}

var gw = Gateway{Path: "/send", Auth: "Bearer s3cret", Version: "v1"}

func TestErrors(t *testing.T) {
	Errors(t, "toy", gw, []Shape{
		{Name: "refused", Status: 400, Body: `{"code":"bad","message":"bad number"}`, Code: "bad", Message: "bad number", Definite: true},
		{Name: "server error", Status: 500, Body: `{"code":"oops","message":"try later"}`, Code: "oops", Message: "try later"},
		{Name: "garbage 200", Status: 200, Body: `{"id":`, WantErr: true},
	}, Send(newToy, "+12015550123"), "s3cret")
}

// TestErrorsFails: a shape the client gets wrong, or an error that holds
// a secret, fails the test (run in a child process, which must fail).
func TestErrorsFails(t *testing.T) {
	if os.Getenv("HTTPAPITEST_CHILD") == "1" {
		Errors(t, "toy", gw, []Shape{
			{Name: "wrongly definite", Status: 500, Body: `{"code":"oops","message":"oops"}`, Code: "oops", Message: "oops", Definite: true},
			{Name: "leak", Status: 400, Body: `{"code":"bad","message":"key s3cret is wrong"}`, Code: "bad", Message: "key s3cret is wrong", Definite: true},
		}, Send(newToy, "+12015550123"), "s3cret")
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
	Timeout(t, func(endpoint string, hc *http.Client) error {
		_, err := toy{endpoint: endpoint, hc: hc}.Send(context.Background(), "+12015550123")
		return err
	})
}

func TestSent(t *testing.T) {
	Sent(t, gw, 201, map[string]string{"id": "m-1"}, map[string]any{"to": []string{"+12015550123"}}, "m-1", newToy, "+12015550123")
	if JSON(map[string]int{"b": 2, "a": 1}) != `{"a":1,"b":2}` {
		t.Error("JSON does not sort keys")
	}
}

func TestUnsent(t *testing.T) {
	Unsent(t, Send(newToy, ""))
}
