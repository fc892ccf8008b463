package sms

import (
	"context"
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

// caddyfileErrors checks that each input fails to parse with an error
// holding want and the file and line.
func caddyfileErrors(t *testing.T, newModule func() caddyfile.Unmarshaler, tests []struct{ name, input, want string }) {
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

// provisionErrors provisions each edit of base and checks the error.
func provisionErrors[T any, P interface {
	*T
	caddy.Provisioner
}](t *testing.T, base func() T, tests []struct {
	name    string
	edit    func(P)
	wantErr string
}) {
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
