package caddysms_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/sms/caddysms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
	// failover's members in these tests
	_ "github.com/caddyotp/caddyotp/sms/dexatel"
	_ "github.com/caddyotp/caddyotp/sms/twilio"
	_ "github.com/caddyotp/caddyotp/sms/vonage"
)

// Failover's members are modules that import this package, so the tests
// that load them live outside it.

func TestFailoverProvision(t *testing.T) {
	raw := func(s ...string) []json.RawMessage {
		var out []json.RawMessage
		for _, x := range s {
			out = append(out, json.RawMessage(x))
		}
		return out
	}
	verify := `{"provider":"twilio_verify","api_key":"SK0123456789abcdef0123456789abcdef","api_secret":"x","service_sid":"VA0123456789abcdef0123456789abcdef"}`
	dexRemote := `{"provider":"dexatel","api_key":"k","sender":"s","template":"t","check":"remote"}`
	tests := []struct {
		name       string
		members    []json.RawMessage
		wantRemote bool
		lo, hi     int
		wantErr    string
	}{
		{"mixed", raw(`{"provider":"log"}`, verify), false, 4, 10, ""},
		{"all remote", raw(verify, dexRemote), true, 4, 8, ""},
		{"one member", raw(`{"provider":"log"}`), false, 0, 0, "at least two"},
		{"unknown member", raw(`{"provider":"log"}`, `{"provider":"pigeon"}`), false, 0, 0, "pigeon"},
		{"bad member", raw(`{"provider":"log"}`, `{"provider":"twilio"}`), false, 0, 0, "account_sid is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := caddysms.Failover{ProvidersRaw: tt.members}
			err := caddysmstest.Provision(t, &f)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if lo, hi := f.CodeLengthRange(); f.ChecksRemotely() != tt.wantRemote || lo != tt.lo || hi != tt.hi {
				t.Errorf("remote %v, lengths %d..%d", f.ChecksRemotely(), lo, hi)
			}
		})
	}
}

func TestFailoverUnmarshalCaddyfile(t *testing.T) {
	var f caddysms.Failover
	err := f.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`failover {
		sms twilio {
			account_sid AC1
			auth_token  {env.T}
			from        +12015550100
		}
		sms log
		sms vonage {
			api_key k
			api_secret s
			from B
		}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range f.ProvidersRaw {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			t.Fatal(err)
		}
		names = append(names, m["provider"].(string))
	}
	if strings.Join(names, ",") != "twilio,log,vonage" {
		t.Errorf("members %q", names)
	}
	if !strings.Contains(string(f.ProvidersRaw[0]), `"from":"+12015550100"`) {
		t.Errorf("member 0: %s", f.ProvidersRaw[0])
	}
	caddysmstest.CaddyfileErrors(t, func() caddyfile.Unmarshaler { return new(caddysms.Failover) }, []caddysmstest.CaddyfileCase{
		{Name: "unknown option", Input: "failover {\n sms log\n timeout 1s\n}", Want: "Testfile:3"},
		{Name: "unknown provider", Input: "failover {\n sms log\n sms pigeon\n}", Want: "pigeon"},
		{Name: "no provider name", Input: "failover {\n sms\n}", Want: "Testfile:2"},
		{Name: "bad member option", Input: "failover {\n sms log\n sms twilio {\n bogus 1\n }\n}", Want: "Testfile:4"},
	})
}
