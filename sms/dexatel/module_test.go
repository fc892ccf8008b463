package dexatel

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

func provisionDexatel(t *testing.T, m *Dexatel) error {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return m.Provision(ctx)
}

func TestDexatelRegistered(t *testing.T) {
	mod, err := caddy.GetModule("http.handlers.phone_otp.sms.dexatel")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mod.New().(sms.RemoteChecker); !ok {
		t.Error("module is not a RemoteChecker")
	}
}

func TestDexatelUnmarshalCaddyfile(t *testing.T) {
	good := `dexatel {
		api_key  {env.DEXATEL_API_KEY}
		sender   MyBrand
		template 0f2a9c
		channel  SMS
		endpoint https://api.dexatel.com
		check    remote
		timeout  3s
	}`
	var p Dexatel
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(good)); err != nil {
		t.Fatalf("good block: %v", err)
	}
	want := Dexatel{APIKey: "{env.DEXATEL_API_KEY}", Sender: "MyBrand", Template: "0f2a9c", Channel: "SMS",
		Endpoint: "https://api.dexatel.com", CheckMode: "remote", Timeout: caddy.Duration(3 * time.Second)}
	if p.APIKey != want.APIKey || p.Sender != want.Sender || p.Template != want.Template || p.Channel != want.Channel ||
		p.Endpoint != want.Endpoint || p.CheckMode != want.CheckMode || p.Timeout != want.Timeout {
		t.Errorf("parsed %+v", p)
	}

	tests := []struct {
		name, input, want string
	}{
		{"unknown option", "dexatel {\n api_key k\n bogus x\n}", "Testfile:3"},
		{"duplicate", "dexatel {\n api_key k\n sender a\n sender b\n}", "already specified"},
		{"bad check", "dexatel {\n check maybe\n}", "Testfile:2"},
		{"bad timeout", "dexatel {\n api_key k\n timeout soon\n}", "Testfile:3"},
		{"zero timeout", "dexatel {\n timeout 0s\n}", "positive"},
		{"negative timeout", "dexatel {\n timeout -1s\n}", "positive"},
		{"missing argument", "dexatel {\n sender\n}", "Testfile:2"},
		{"too many arguments", "dexatel {\n sender a b\n}", "Testfile:2"},
		{"argument after name", "dexatel extra {\n sender a\n}", "Testfile:1"},
		{"nested block", "dexatel {\n sender a {\n x\n }\n}", "takes no block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Dexatel
			err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Testfile:") {
				t.Errorf("error %q lacks %q or the file and line", err, tt.want)
			}
		})
	}
}

func TestDexatelUnmarshalDuplicateLine(t *testing.T) {
	var p Dexatel
	err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("dexatel {\n api_key k\n sender a\n sender b\n}"))
	if err == nil || !strings.Contains(err.Error(), "Testfile:4") {
		t.Errorf("error %v should point at line 4", err)
	}
}

func TestDexatelProvision(t *testing.T) {
	t.Setenv("DEXATEL_TEST_KEY", "from-env")
	t.Setenv("DEXATEL_TEST_EMPTY", "")
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() Dexatel {
		return Dexatel{APIKey: "k", Sender: "MyBrand", Template: "tpl"}
	}
	tests := []caddysmstest.ProvisionCase[*Dexatel]{
		{Name: "defaults", Edit: func(*Dexatel) {}},
		{Name: "env key", Edit: func(p *Dexatel) { p.APIKey = "{env.DEXATEL_TEST_KEY}" }},
		{Name: "file key", Edit: func(p *Dexatel) { p.APIKey = "{file." + keyFile + "}" }},
		{Name: "missing api_key", Edit: func(p *Dexatel) { p.APIKey = "" }, WantErr: "api_key is required"},
		{Name: "empty env api_key", Edit: func(p *Dexatel) { p.APIKey = "{env.DEXATEL_TEST_EMPTY}" }, WantErr: "api_key is required"},
		{Name: "unknown placeholder", Edit: func(p *Dexatel) { p.APIKey = "{evn.DEXATEL_TEST_KEY}" }, WantErr: "unrecognized placeholder"},
		{Name: "missing sender", Edit: func(p *Dexatel) { p.Sender = " " }, WantErr: "sender is required"},
		{Name: "missing template", Edit: func(p *Dexatel) { p.Template = "" }, WantErr: "template is required"},
		{Name: "bad check", Edit: func(p *Dexatel) { p.CheckMode = "both" }, WantErr: "local or remote"},
		{Name: "ftp endpoint", Edit: func(p *Dexatel) { p.Endpoint = "ftp://api.dexatel.com" }, WantErr: "absolute http"},
		{Name: "relative endpoint", Edit: func(p *Dexatel) { p.Endpoint = "/v1" }, WantErr: "absolute http"},
		{Name: "unparsable endpoint", Edit: func(p *Dexatel) { p.Endpoint = "http://[::1" }, WantErr: "endpoint"},
		{Name: "endpoint with credentials", Edit: func(p *Dexatel) { p.Endpoint = "https://u:pw@x.test" }, WantErr: "credentials"},
		{Name: "negative timeout", Edit: func(p *Dexatel) { p.Timeout = caddy.Duration(-time.Second) }, WantErr: "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			p := base()
			tt.Edit(&p)
			err := provisionDexatel(t, &p)
			if tt.WantErr == "" {
				if err != nil {
					t.Fatalf("Provision: %v", err)
				}
				wantKey := map[string]string{"env key": "from-env", "file key": "from-file"}[tt.Name]
				if wantKey != "" && p.client.APIKey != wantKey {
					t.Errorf("resolved key = %q, want %q", p.client.APIKey, wantKey)
				}
				if p.APIKey == wantKey {
					t.Error("the config field was overwritten with the secret")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.WantErr) {
				t.Fatalf("err = %v, want %q", err, tt.WantErr)
			}
			if strings.Contains(err.Error(), "from-env") {
				t.Errorf("error %q holds the key", err)
			}
		})
	}
}

// sentData is the data object of the last request the fake saw.
func sentData(t *testing.T, f *fakegw.Reply) map[string]any {
	t.Helper()
	var b struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal([]byte(f.Last().Body), &b)
	return b.Data
}

func TestDexatelSend(t *testing.T) {
	t.Setenv("DEXATEL_TEST_KEY", "from-env")
	created := `{"data":{"account_id":"acc","message_id":"msg-7","phone":"12015550123",` +
		`"create_date":"2026-11-25 19:00:00","expire_date":"2026-11-25 19:05:00"}}`
	tests := []struct {
		name    string
		check   string
		msg     sms.Message
		want    map[string]any
		absent  string
		wantErr bool
	}{
		{name: "local", check: "",
			msg:    sms.Message{Phone: "+12015550123", Code: "123456", CodeLength: 6},
			want:   map[string]any{"code": "123456", "phone": "12015550123", "sender": "MyBrand", "template": "tpl", "channel": "SMS"},
			absent: "code_length"},
		{name: "remote", check: "remote",
			msg:    sms.Message{Phone: "+12015550123", CodeLength: 8},
			want:   map[string]any{"code_length": "8", "phone": "12015550123"},
			absent: "code"},
		{name: "remote ignores a code", check: "remote",
			msg:    sms.Message{Phone: "+12015550123", Code: "123456", CodeLength: 6},
			want:   map[string]any{"code_length": "6"},
			absent: "code"},
		{name: "local code too long", msg: sms.Message{Phone: "+12015550123", Code: "1234567890"}, wantErr: true},
		{name: "remote length too short", check: "remote", msg: sms.Message{Phone: "+12015550123", CodeLength: 3}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.NewReply(t, http.StatusCreated, created)
			p := &Dexatel{APIKey: "{env.DEXATEL_TEST_KEY}", Sender: "MyBrand", Template: "tpl",
				Endpoint: srv.URL(), CheckMode: tt.check}
			if err := provisionDexatel(t, p); err != nil {
				t.Fatal(err)
			}
			if p.ChecksRemotely() != (tt.check == "remote") {
				t.Errorf("ChecksRemotely = %v", p.ChecksRemotely())
			}
			res, err := p.Send(context.Background(), tt.msg)
			if tt.wantErr {
				if !sms.IsError(err) {
					t.Fatalf("err = %v, want *Error", err)
				}
				if strings.Contains(err.Error(), "1234567890") {
					t.Errorf("error %q holds the code", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.ID != "msg-7" {
				t.Errorf("ID = %q", res.ID)
			}
			if want := map[bool]string{true: "msg-7"}[tt.check == "remote"]; res.Ref != want {
				t.Errorf("Ref = %q, want %q", res.Ref, want)
			}
			if key := srv.Last().Header.Get("X-Dexatel-Key"); key != "from-env" {
				t.Errorf("X-Dexatel-Key = %q, want the env value", key)
			}
			data := sentData(t, srv)
			for k, v := range tt.want {
				if data[k] != v {
					t.Errorf("data.%s = %v, want %v", k, data[k], v)
				}
			}
			if _, ok := data[tt.absent]; ok {
				t.Errorf("data.%s sent", tt.absent)
			}
		})
	}
}

func TestDexatelCheck(t *testing.T) {
	future := time.Now().UTC().Add(time.Hour).Format("2006-01-02 15:04:05")
	srv := fakegw.NewReply(t, http.StatusOK,
		`{"data":[{"message_id":"msg-7","phone":"12015550123","code":"4321","expire_date":"`+future+`"}],"pagination":{}}`)
	p := &Dexatel{APIKey: "k", Sender: "S", Template: "t", Endpoint: srv.URL() + "/", CheckMode: "remote"}
	if err := provisionDexatel(t, p); err != nil {
		t.Fatal(err)
	}
	ok, err := p.Check(context.Background(), "+12015550123", "4321", "msg-7")
	if err != nil || !ok {
		t.Fatalf("Check = %v, %v; want true", ok, err)
	}
	q := srv.Last().Query()
	if q["phone"][0] != "12015550123" || q["code"][0] != "4321" {
		t.Errorf("query = %v", q)
	}

	srv.Answer(http.StatusOK, `{"data":[]}`)
	if ok, err := p.Check(context.Background(), "+12015550123", "4321", "msg-6"); ok || err != nil {
		t.Errorf("another verification: Check = %v, %v", ok, err)
	}
	if ok, err := p.Check(context.Background(), "+12015550123", "0000", "msg-7"); ok || err != nil {
		t.Errorf("no match: Check = %v, %v", ok, err)
	}
}

func TestDexatelErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		wantStatus  int
		wantCode    string
		wantMessage string
		definite    bool
	}{
		{"invalid recipient", 400, `{"errors":[{"timestamp":"2026-11-25 19:00:00","path":"/v1/verifications",` +
			`"method":"POST","status":400,"message":"Invalid recipient number(s)","code":1523}]}`,
			400, "1523", "Invalid recipient number(s)", true},
		{"bad key", 401, `{"errors":[{"status":401,"message":"Invalid API key","code":1001}]}`, 401, "1001", "Invalid API key", true},
		{"html", 502, `<html>Bad Gateway</html>`, 502, "", "", false},
		// A 2xx took the request: whatever its body, the SMS may be out.
		{"garbage 2xx", 201, `{"data":`, 201, "", "", false},
		{"html 200", 200, `<html>OK</html>`, 200, "", "", false},
		{"empty data", 200, `{"data":[]}`, 200, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakegw.NewReply(t, tt.status, tt.body)
			p := &Dexatel{APIKey: "secret-key", Sender: "S", Template: "t", Endpoint: srv.URL()}
			if err := provisionDexatel(t, p); err != nil {
				t.Fatal(err)
			}
			_, err := p.Send(context.Background(), sms.Message{Phone: "+12015550123", Code: "123456"})
			var e *sms.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %T %v, want *Error", err, err)
			}
			if e.Provider != "dexatel" || e.Op != "create verification" || e.Status != tt.wantStatus ||
				e.Code != tt.wantCode || e.Message != tt.wantMessage {
				t.Errorf("error = %+v", e)
			}
			if sms.Definite(err) != tt.definite {
				t.Errorf("Definite(%v) = %v, want %v", err, !tt.definite, tt.definite)
			}
			if s := err.Error(); strings.Contains(s, "123456") || strings.Contains(s, "secret-key") {
				t.Errorf("error %q holds the code or key", s)
			}
		})
	}

	// A provider that hangs fails within its own timeout.
	p := &Dexatel{APIKey: "k", Sender: "S", Template: "t", Endpoint: fakegw.Hang(t),
		Timeout: caddy.Duration(50 * time.Millisecond), CheckMode: "remote"}
	if err := provisionDexatel(t, p); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(context.Background(), "+12015550123", "1234", "msg-1"); !sms.IsError(err) {
		t.Errorf("hanging check: err = %v, want *Error", err)
	}
}

func TestDexatelNotProvisioned(t *testing.T) {
	var p Dexatel
	if _, err := p.Send(context.Background(), sms.Message{Phone: "+12015550123", Code: "1234"}); !sms.IsError(err) {
		t.Errorf("Send err = %v", err)
	}
	if _, err := p.Check(context.Background(), "+12015550123", "1234", "msg-1"); !sms.IsError(err) {
		t.Errorf("Check err = %v", err)
	}
	if lo, hi := p.CodeLengthRange(); lo != 4 || hi != 8 {
		t.Errorf("CodeLengthRange = %d, %d", lo, hi)
	}
}
