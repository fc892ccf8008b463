package sms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Helpers shared by the provider modules' tests.

func provision(t *testing.T, p caddy.Provisioner) error {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return p.Provision(ctx)
}

// parsed parses input into m and fails the test if it cannot.
func parsed(t *testing.T, m caddyfile.Unmarshaler, input string) {
	t.Helper()
	if err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
}

// caddyfileCase is an input that must fail to parse with an error
// holding want.
type caddyfileCase struct{ name, input, want string }

// optionErrors are the cases every provider's block must refuse, with
// the line: an option it does not know (unknown, after option on line
// 2), option given twice, and option given two arguments.
func optionErrors(module, option, unknown string) []caddyfileCase {
	return []caddyfileCase{
		{"unknown option", module + " {\n " + option + " a\n " + unknown + " x\n}", "Testfile:3"},
		{"duplicate", module + " {\n " + option + " a\n " + option + " b\n}", "already specified"},
		{"two arguments", module + " {\n " + option + " a b\n}", "Testfile:2"},
	}
}

// caddyfileErrors checks that each input fails to parse with an error
// holding want and the file and line.
func caddyfileErrors(t *testing.T, newModule func() caddyfile.Unmarshaler, tests []caddyfileCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newModule().UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Testfile:") {
				t.Errorf("error %q lacks %q or the file and line", err, tt.want)
			}
		})
	}
}

// provisionCase is an edit of a module that must provision, or fail
// with an error holding wantErr.
type provisionCase[P any] struct {
	name    string
	edit    func(P)
	wantErr string
}

// provisionErrors provisions each edit of base and checks the error.
func provisionErrors[T any, P interface {
	*T
	caddy.Provisioner
}](t *testing.T, base func() T, tests []provisionCase[P]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.edit(&m)
			err := provision(t, P(&m))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Provision: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

// sent sends the usual message through p and checks that it went, with
// id wantID, for the plugin to check the code.
func sent(t *testing.T, p Provider, wantID string) {
	t.Helper()
	if res, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"}); err != nil || res.ID != wantID || res.Remote {
		t.Fatalf("Send = %+v, %v, want id %q", res, err, wantID)
	}
}

// refused sends the usual message through p, which must refuse it: a
// definite *Error of provider that is, as far as ok says, the gateway's
// answer, and that does not hold the whole phone.
func refused(t *testing.T, p Provider, provider string, ok func(*Error) bool) {
	t.Helper()
	_, err := p.Send(context.Background(), Message{Phone: "+12015550123", Code: "123456", Text: "123456"})
	var e *Error
	if !errors.As(err, &e) || e.Provider != provider || !ok(e) || !Definite(err) {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "5550123") {
		t.Errorf("error %q holds the whole phone", err)
	}
}

func TestModulesRegistered(t *testing.T) {
	for _, name := range []string{"twilio", "twilio_verify", "vonage", "webhook", "failover", "aws_sns", "messagebird", "infobip", "sinch", "plivo", "telnyx"} {
		mod, err := caddy.GetModule(Namespace + "." + name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, ok := mod.New().(Provider); !ok {
			t.Errorf("%s is not a Provider", name)
		}
	}
}

// TestProvidersLogNoSecrets sends through each provider with Debug logs
// on, once accepted and once refused, and looks for the secrets, the code
// and the whole phone in everything logged and returned.
func TestProvidersLogNoSecrets(t *testing.T) {
	const secret, code, phone = "s3cret-value", "482913", "+12015550123"
	ok := map[string]string{
		"twilio":      `{"sid":"SM1","status":"queued"}`,
		"vonage":      `{"message-count":"1","messages":[{"status":"0","message-id":"A"}]}`,
		"webhook":     `{}`,
		"aws_sns":     fakegw.SNSPublished("m1"),
		"telnyx":      `{"data":{"id":"m1"}}`,
		"plivo":       `{"api_id":"a","message":"message(s) queued","message_uuid":["u1"]}`,
		"sinch":       `{"id":"b1"}`,
		"infobip":     `{"bulkId":"b","messages":[{"messageId":"m1","status":{"groupId":1}}]}`,
		"messagebird": `{"id":"m1","status":"accepted"}`,
	}
	// Refusals that quote what they were sent, as some gateways do.
	refused := map[string]string{
		"twilio":      `{"code":21211,"message":"Invalid 'To' Phone Number: ` + phone + ` for ` + code + `","status":400}`,
		"vonage":      `{"message-count":"1","messages":[{"status":"6","error-text":"Invalid message ` + code + ` to 12015550123"}]}`,
		"webhook":     `{"error":"rejected ` + code + `"}`,
		"aws_sns":     `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: ` + phone + ` ` + code + `</Message></Error></ErrorResponse>`,
		"telnyx":      `{"errors":[{"code":"40310","title":"Invalid to","detail":"` + phone + ` ` + code + `"}]}`,
		"plivo":       `{"api_id":"a","error":"` + phone + ` ` + code + ` is not valid"}`,
		"sinch":       `{"code":"syntax_invalid_parameter_format","text":"` + phone + ` ` + code + `"}`,
		"infobip":     `{"requestError":{"serviceException":{"messageId":"BAD_REQUEST","text":"` + phone + ` ` + code + `"}}}`,
		"messagebird": `{"code":"InvalidPayload","message":"` + phone + ` ` + code + `"}`,
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	for _, name := range []string{"twilio", "vonage", "webhook", "aws_sns", "telnyx"} {
		for _, refuse := range []bool{false, true} {
			status, body := 200, ok[name]
			if refuse {
				status, body = 400, refused[name]
			}
			srv := fakegw.NewReply(t, status, body)
			var p interface {
				caddy.Provisioner
				Provider
			}
			switch name {
			case "twilio":
				p = &Twilio{TwilioAuth: TwilioAuth{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: secret}, From: "+12015550100", Endpoint: srv.URL()}
			case "vonage":
				p = &Vonage{APIKey: "a1b2c3d4", APISecret: secret, From: "B", Endpoint: srv.URL()}
			case "aws_sns":
				p = &AWSSNS{Region: "us-east-1", AccessKeyID: "AKIATEST", SecretAccessKey: secret, Endpoint: srv.URL()}
			case "telnyx":
				p = &Telnyx{APIKey: secret, From: "+12015550100", Endpoint: srv.URL()}
			case "plivo":
				p = &Plivo{AuthID: "MA1", AuthToken: secret, Src: "+12015550100", Endpoint: srv.URL()}
			case "sinch":
				p = &Sinch{ServicePlanID: "plan-1", APIToken: secret, Endpoint: srv.URL()}
			case "infobip":
				p = &Infobip{APIKey: secret, BaseURL: srv.URL()}
			case "messagebird":
				p = &MessageBird{AccessKey: secret, WorkspaceID: "ws", ChannelID: "ch", Endpoint: srv.URL()}
			case "webhook":
				p = &Webhook{URL: srv.URL() + "/?key=" + secret, Headers: http.Header{"Authorization": {secret}}, Body: `{"t":"{message}"}`}
			}
			if err := provision(t, p); err != nil {
				t.Fatal(err)
			}
			core, logs := observer.New(zapcore.DebugLevel)
			switch v := p.(type) {
			case *Twilio:
				v.logger = zap.New(core)
			case *Vonage:
				v.logger = zap.New(core)
			case *Webhook:
				v.logger = zap.New(core)
			case *AWSSNS:
				v.logger = zap.New(core)
			case *MessageBird:
				v.logger = zap.New(core)
			case *Infobip:
				v.logger = zap.New(core)
			case *Sinch:
				v.logger = zap.New(core)
			case *Plivo:
				v.logger = zap.New(core)
			case *Telnyx:
				v.logger = zap.New(core)
			}
			_, err := p.Send(context.Background(), Message{Phone: phone, Code: code, Text: code + " is your code\n\n@x #" + code})
			if refuse != (err != nil) {
				t.Fatalf("%s refuse=%v: err %v", name, refuse, err)
			}
			var seen []string
			if err != nil {
				seen = append(seen, err.Error())
			}
			for _, e := range logs.All() {
				seen = append(seen, e.Message, fmt.Sprint(e.ContextMap()))
			}
			for _, s := range seen {
				for _, bad := range []string{secret, code, "5550123"} {
					if strings.Contains(s, bad) {
						t.Errorf("%s refuse=%v: %q holds %q", name, refuse, s, bad)
					}
				}
			}
		}
	}
}
