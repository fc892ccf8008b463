package twilio

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testToken   = "test-auth-token"
	testService = "VA0123456789abcdef0123456789abcdef"
)

// fakeTwilio checks what Twilio checks (method, path, basic auth, form
// body, User-Agent) and answers with status and body.
func fakeTwilio(t *testing.T, path string, status int, body string, inspect func(t *testing.T, form url.Values)) *fakegw.Reply {
	t.Helper()
	return fakegw.TwilioAPI(t, path, testAccount, testToken, "v1.2.3", status, body, inspect)
}

var creds = Credentials{Username: testAccount, Password: testToken}

func messagesClient(endpoint string) *Client {
	return &Client{AccountSID: testAccount, Credentials: creds, Endpoint: endpoint, Version: "v1.2.3",
		HTTPClient: NewHTTPClient(2 * time.Second)}
}

const messagesPath = "/2010-04-01/Accounts/" + testAccount + "/Messages.json"

const queued = `{"account_sid":"` + testAccount + `","api_version":"2010-04-01","body":"x","direction":"outbound-api",` +
	`"error_code":null,"error_message":null,"from":"+12015550100","sid":"SM0123","status":"queued","to":"+12015550123"}`

func TestSendMessage(t *testing.T) {
	tests := []struct {
		name string
		req  MessageRequest
		want url.Values
	}{
		{"from", MessageRequest{To: "+12015550123", From: "+12015550100", Body: "123456 is your code\n\n@example.com #123456"},
			url.Values{"To": {"+12015550123"}, "From": {"+12015550100"}, "Body": {"123456 is your code\n\n@example.com #123456"}}},
		{"messaging service wins", MessageRequest{To: "12015550123", From: "+12015550100", MessagingServiceSID: "MG0123456789abcdef0123456789abcdef", Body: "b"},
			url.Values{"To": {"+12015550123"}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {"b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeTwilio(t, messagesPath, http.StatusCreated, queued, func(t *testing.T, form url.Values) {
				if form.Encode() != tt.want.Encode() {
					t.Errorf("form %v, want %v", form, tt.want)
				}
			})
			m, err := messagesClient(srv.URL()).SendMessage(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if m.SID != "SM0123" || m.Status != "queued" {
				t.Errorf("message %+v", m)
			}
		})
	}
}

func TestSendMessageErrors(t *testing.T) {
	tests := []struct {
		name                  string
		status                int
		body                  string
		req                   *MessageRequest
		wantStatus            int
		wantCode, wantMessage string
		wantErr               bool
	}{
		{name: "bad number", status: 400,
			body:       `{"code":21211,"message":"Invalid 'To' Phone Number: +12015550123","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`,
			wantStatus: 400, wantCode: "21211", wantMessage: "Invalid 'To' Phone Number: +12015550123 (https://www.twilio.com/docs/errors/21211)"},
		{name: "bad credentials", status: 401,
			body:       `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`,
			wantStatus: 401, wantCode: "20003", wantMessage: "Authenticate (https://www.twilio.com/docs/errors/20003)"},
		{name: "server error with HTML", status: 503, body: "<html>down</html>", wantStatus: 503},
		{name: "garbage JSON", status: 201, body: `{"sid":`, wantStatus: 201, wantErr: true},
		{name: "no sid", status: 201, body: `{}`, wantStatus: 201, wantErr: true},
		{name: "failed at once", status: 201, body: `{"sid":"SM1","status":"failed","error_code":30007,"error_message":"Carrier violation"}`,
			wantStatus: 201, wantCode: "30007", wantMessage: "message failed: Carrier violation"},
		{name: "bad phone", req: &MessageRequest{To: "+1 201", From: "+1", Body: "b"}, wantErr: true},
		{name: "no sender", req: &MessageRequest{To: "+12015550123", Body: "b"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeTwilio(t, messagesPath, tt.status, tt.body, nil)
			req := MessageRequest{To: "+12015550123", From: "+12015550100", Body: "b"}
			if tt.req != nil {
				req = *tt.req
			}
			_, err := messagesClient(srv.URL()).SendMessage(context.Background(), req)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want *Error", err)
			}
			if e.Provider != "twilio" || e.Op != "send message" || e.Status != tt.wantStatus || e.Code != tt.wantCode || e.Message != tt.wantMessage {
				t.Errorf("error %+v", e)
			}
			if (e.Err != nil) != tt.wantErr {
				t.Errorf("Err %v, want one: %v", e.Err, tt.wantErr)
			}
		})
	}
}

func verifyClient(endpoint string) *VerifyClient {
	return &VerifyClient{ServiceSID: testService, Credentials: creds, Endpoint: endpoint, Version: "v1.2.3",
		HTTPClient: NewHTTPClient(2 * time.Second)}
}

func TestStartVerification(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"pending", 201, `{"sid":"VE0123456789abcdef0123456789abcdef","service_sid":"` + testService + `","to":"+12015550123","channel":"sms","status":"pending","valid":false}`, ""},
		{"max send attempts", 429, `{"code":60203,"message":"Max send attempts reached","more_info":"https://www.twilio.com/docs/errors/60203","status":429}`, "code 60203"},
		{"service not found", 404, `{"code":20404,"message":"The requested resource was not found","status":404}`, "code 20404"},
		{"garbage", 201, `not json`, "decode"},
		{"not pending", 201, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"canceled"}`, "not a pending verification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeTwilio(t, "/v2/Services/"+testService+"/Verifications", tt.status, tt.body, func(t *testing.T, form url.Values) {
				if form.Encode() != (url.Values{"To": {"+12015550123"}, "Channel": {"sms"}}).Encode() {
					t.Errorf("form %v", form)
				}
			})
			v, err := verifyClient(srv.URL()).StartVerification(context.Background(), "12015550123")
			if tt.wantErr == "" {
				if err != nil || v.SID != "VE0123456789abcdef0123456789abcdef" {
					t.Errorf("= %+v, %v", v, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckVerification(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    bool
		wantErr string
	}{
		{"approved", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","to":"+12015550123","channel":"sms","status":"approved","valid":true}`, true, ""},
		{"wrong code", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"pending","valid":false}`, false, ""},
		{"expired or used", 404, `{"code":20404,"message":"The requested resource /Services/VA…/VerificationCheck was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`, false, ""},
		{"max check attempts", 429, `{"code":60202,"message":"Max check attempts reached","status":429}`, false, "code 60202"},
		{"other 404", 404, `{"code":20001,"message":"x","status":404}`, false, "HTTP 404"},
		{"404 without body", 404, ``, false, "HTTP 404"},
		{"server error", 500, `oops`, false, "HTTP 500"},
		{"garbage", 200, `{"status":`, false, "decode"},
		{"unknown status", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"weird"}`, false, "status"},
		{"approved, valid null", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved","valid":null}`, true, ""},
		{"approved, no valid", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved"}`, true, ""},
		{"approved but not valid", 200, `{"sid":"VE0123456789abcdef0123456789abcdef","status":"approved","valid":false}`, false, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeTwilio(t, "/v2/Services/"+testService+"/VerificationCheck", tt.status, tt.body, func(t *testing.T, form url.Values) {
				if form.Encode() != (url.Values{"To": {"+12015550123"}, "Code": {"123456"}}).Encode() {
					t.Errorf("form %v", form)
				}
			})
			ok, err := verifyClient(srv.URL()).CheckVerification(context.Background(), "+12015550123", "123456")
			if ok != tt.want {
				t.Errorf("match %v, want %v", ok, tt.want)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckVerificationEmptyCodeAsksNothing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("Twilio was asked about an empty code")
	}))
	defer srv.Close()
	if ok, err := verifyClient(srv.URL).CheckVerification(context.Background(), "+12015550123", ""); ok || err != nil {
		t.Errorf("= %v, %v", ok, err)
	}
}

func TestClientsUseDefaultEndpoints(t *testing.T) {
	a := (&VerifyClient{}).api()
	b := newAPI("twilio", creds, "", DefaultEndpoint, "", nil)
	if a.endpoint != DefaultVerifyEndpoint || b.endpoint != DefaultEndpoint {
		t.Errorf("endpoints %q %q", a.endpoint, b.endpoint)
	}
}
