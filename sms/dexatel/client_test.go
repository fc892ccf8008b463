package dexatel

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

const testKey = "test-api-key"

// fakeDexatel checks what Dexatel checks and answers with status and body.
func fakeDexatel(t *testing.T, status int, body string, inspect func(t *testing.T, r *http.Request)) *fakegw.Reply {
	t.Helper()
	return fakegw.DexatelAPI(t, testKey, "v1.2.3", status, body, inspect)
}

func testClient(endpoint string) *Client {
	c := New(testKey)
	c.Endpoint = endpoint
	c.Version = "v1.2.3"
	c.HTTPClient = NewHTTPClient(2 * time.Second)
	return c
}

// decodeCreate checks a create request and returns its data object.
func decodeCreate(t *testing.T, r *http.Request) map[string]any {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	var body struct {
		Data map[string]any `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		t.Errorf("decode body: %v", err)
	}
	return body.Data
}

const createdBody = `{"data":{"id":"a1b2","account_id":"acc-1","message_id":"msg-42","phone":"12015550123",` +
	`"create_date":"2026-11-25 19:00:00","expire_date":"2026-11-25 19:05:00"}}`

func TestCreateVerification(t *testing.T) {
	tests := []struct {
		name     string
		req      CreateRequest
		wantData map[string]any
		absent   string
	}{
		{
			name: "local code",
			req:  CreateRequest{Sender: "MyBrand", Phone: "+12015550123", Template: "tpl-1", Code: "123456"},
			wantData: map[string]any{"sender": "MyBrand", "phone": "12015550123", "template": "tpl-1",
				"channel": "SMS", "code": "123456"},
			absent: "code_length",
		},
		{
			name: "remote code length",
			req:  CreateRequest{Sender: "MyBrand", Phone: "12015550123", Template: "tpl-1", Channel: "VIBER", CodeLength: 6},
			wantData: map[string]any{"sender": "MyBrand", "phone": "12015550123", "template": "tpl-1",
				"channel": "VIBER", "code_length": "6"},
			absent: "code",
		},
		{
			name:     "code wins over length",
			req:      CreateRequest{Sender: "S", Phone: "+4915123456789", Template: "t", Code: "9876", CodeLength: 4},
			wantData: map[string]any{"phone": "4915123456789", "code": "9876"},
			absent:   "code_length",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeDexatel(t, http.StatusCreated, createdBody, func(t *testing.T, r *http.Request) {
				data := decodeCreate(t, r)
				if p, _ := data["phone"].(string); strings.Contains(p, "+") {
					t.Errorf("phone %q holds '+'", p)
				}
				for k, want := range tt.wantData {
					if data[k] != want {
						t.Errorf("data.%s = %v, want %v", k, data[k], want)
					}
				}
				if _, ok := data[tt.absent]; ok {
					t.Errorf("data.%s sent, must not be", tt.absent)
				}
			})
			v, err := testClient(srv.URL()).CreateVerification(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("CreateVerification: %v", err)
			}
			if v.MessageID != "msg-42" || v.ID != "a1b2" || v.ExpireDate != "2026-11-25 19:05:00" {
				t.Errorf("verification = %+v", v)
			}
		})
	}
}

func TestCreateVerificationErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		phone       string
		wantStatus  int
		wantCode    int
		wantMessage string
		wantErr     bool // a transport or decoding error in Err
	}{
		{
			name:   "invalid recipient",
			status: 400,
			body: `{"errors":[{"timestamp":"2026-11-25 19:00:00","path":"/v1/verifications","method":"POST",` +
				`"status":400,"message":"Invalid recipient number(s)","code":1523}]}`,
			wantStatus: 400, wantCode: 1523, wantMessage: "Invalid recipient number(s)",
		},
		{
			name:       "unauthorized, code as string",
			status:     401,
			body:       `{"errors":[{"status":401,"message":"Unauthorized","code":"1001"}]}`,
			wantStatus: 401, wantCode: 1001, wantMessage: "Unauthorized",
		},
		{
			name:       "server error with HTML",
			status:     500,
			body:       "<html><body><h1>500 Internal Server Error</h1></body></html>",
			wantStatus: 500,
		},
		{
			name:       "redirect is not followed",
			status:     302,
			body:       "",
			wantStatus: 302,
		},
		// A 2xx that cannot be decoded keeps its status: Dexatel took
		// the request, so the SMS may be out.
		{name: "garbage JSON", status: 200, body: `{"data":{"message_id":`, wantStatus: 200, wantErr: true},
		{name: "not JSON", status: 201, body: "OK", wantStatus: 201, wantErr: true},
		{name: "HTML", status: 200, body: "<html><body>OK</body></html>", wantStatus: 200, wantErr: true},
		{name: "no data", status: 201, body: `{"data":null}`, wantStatus: 201, wantErr: true},
		{name: "empty data", status: 201, body: `{"data":[]}`, wantStatus: 201, wantErr: true},
		{name: "data of wrong type", status: 201, body: `{"data":"x"}`, wantStatus: 201, wantErr: true},
		{name: "body too large", status: 201, body: `{"data":{"id":"` + strings.Repeat("x", maxBody) + `"}}`, wantStatus: 201, wantErr: true},
		{name: "bad phone", phone: "+1 201 555", wantErr: true},
		{name: "empty phone", phone: "+", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeDexatel(t, tt.status, tt.body, nil)
			phone := "+12015550123"
			if tt.phone != "" {
				phone = tt.phone
			}
			v, err := testClient(srv.URL()).CreateVerification(context.Background(),
				CreateRequest{Sender: "S", Phone: phone, Template: "t", Code: "1234"})
			if err == nil {
				t.Fatalf("no error, got %+v", v)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if de.Op != "create verification" || de.Status != tt.wantStatus || de.Code != tt.wantCode || de.Message != tt.wantMessage {
				t.Errorf("error = %+v", de)
			}
			if (de.Err != nil) != tt.wantErr {
				t.Errorf("Err = %v, want error: %v", de.Err, tt.wantErr)
			}
			if de.Unsent != (tt.phone != "") {
				t.Errorf("Unsent = %v, want it only for input refused before the call", de.Unsent)
			}
			if tt.wantMessage != "" && !strings.Contains(err.Error(), tt.wantMessage) {
				t.Errorf("Error() = %q lacks %q", err.Error(), tt.wantMessage)
			}
		})
	}
}

func TestCreateVerificationTransport(t *testing.T) {
	hang := fakegw.Hang(t)

	closed := fakegw.Closed()

	ctxDone, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name     string
		endpoint string
		ctx      context.Context
		timeout  bool
	}{
		{"hangs past timeout", hang, context.Background(), true},
		{"connection refused", closed, context.Background(), false},
		{"context cancelled", hang, ctxDone, false},
		{"bad endpoint", "http://[::1", context.Background(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClient(tt.endpoint)
			c.HTTPClient = NewHTTPClient(50 * time.Millisecond)
			_, err := c.CreateVerification(tt.ctx, CreateRequest{Phone: "+12015550123", Code: "1234"})
			var de *Error
			if !errors.As(err, &de) || de.Err == nil || de.Status != 0 {
				t.Fatalf("err = %v, want *Error with transport Err", err)
			}
			var ne net.Error
			if tt.timeout && !(errors.As(err, &ne) && ne.Timeout()) {
				t.Errorf("err = %v, want a timeout", err)
			}
		})
	}
}

func TestCheckVerification(t *testing.T) {
	entryOf := func(msg, phone, code, expire string) string {
		return `{"id":"v-` + msg + `","phone":"` + phone + `","code":"` + code + `","message_id":"` + msg + `",` +
			`"create_date":"2026-11-25 19:00:00","expire_date":"` + expire + `"}`
	}
	entry := func(phone, code, expire string) string { return entryOf("m1", phone, code, expire) }
	valid := entry("12015550123", "123456", "2026-11-25 19:05:00")
	before := time.Date(2026, 11, 25, 19, 4, 59, 0, time.UTC)
	after := time.Date(2026, 11, 25, 19, 5, 0, 0, time.UTC)
	pagination := `,"pagination":{"page":1,"size":10,"total":1}}`

	tests := []struct {
		name    string
		status  int
		body    string
		now     time.Time
		code    string
		ref     string
		want    bool
		wantErr bool
	}{
		{name: "match", body: `{"data":[` + valid + `]` + pagination, now: before, want: true},
		{name: "match in other zone", body: `{"data":[` + valid + `]}`, now: before.In(time.FixedZone("X", 5*3600)), want: true},
		{name: "expired", body: `{"data":[` + valid + `]` + pagination, now: after},
		{name: "empty list", body: `{"data":[],"pagination":{"total":0}}`, now: before},
		{name: "null data", body: `{"data":null}`, now: before},
		{name: "no data", body: `{}`, now: before},
		{name: "single object", body: `{"data":` + valid + `}`, now: before, want: true},
		{name: "one expired one valid", body: `{"data":[` +
			entry("12015550123", "123456", "2026-11-25 18:00:00") + "," + valid + `]}`, now: before, want: true},
		{name: "ours expired, another valid", body: `{"data":[` +
			entry("12015550123", "123456", "2026-11-25 18:00:00") + "," + entryOf("m2", "12015550123", "123456", "2026-11-25 19:05:00") + `]}`, now: before},
		{name: "other code listed", body: `{"data":[` + entry("12015550123", "654321", "2026-11-25 19:05:00") + `]}`, now: before},
		{name: "other phone listed", body: `{"data":[` + entry("4915123456789", "123456", "2026-11-25 19:05:00") + `]}`, now: before},
		{name: "another verification's code", body: `{"data":[` + entryOf("m0", "12015550123", "123456", "2026-11-25 19:05:00") + `]}`, now: before},
		{name: "ours among others", body: `{"data":[` + entryOf("m0", "12015550123", "123456", "2026-11-25 19:05:00") + "," +
			entryOf("m2", "12015550123", "123456", "2026-11-25 19:05:00") + "," + valid + `]}`, now: before, want: true},
		{name: "ours with another code", body: `{"data":[` + entryOf("m0", "12015550123", "123456", "2026-11-25 19:05:00") + "," +
			entry("12015550123", "999999", "2026-11-25 19:05:00") + `]}`, now: before},
		{name: "matched by id", ref: "v-m1", body: `{"data":[` + valid + `]}`, now: before, want: true},
		{name: "entry without its code", body: `{"data":[{"message_id":"m1","phone":"12015550123","expire_date":"2026-11-25 19:05:00"}]}`, now: before},
		{name: "entry without its phone", body: `{"data":[{"message_id":"m1","code":"123456","expire_date":"2026-11-25 19:05:00"}]}`, now: before},
		{name: "no ref asks nothing", ref: "-", now: before},
		{name: "unreadable expiry", body: `{"data":[` + entry("12015550123", "123456", "soon") + `]}`, now: before, wantErr: true},
		{name: "empty code asks nothing", code: "-", now: before},
		{name: "garbage", body: `[[[`, now: before, wantErr: true},
		{name: "not found", status: 404, body: `{"errors":[{"code":1404,"message":"Not found"}]}`, now: before, wantErr: true},
		{name: "server error", status: 503, body: `oops`, now: before, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = http.StatusOK
			}
			code := "123456"
			switch tt.code {
			case "-":
				code = ""
			case "":
			default:
				code = tt.code
			}
			ref := "m1"
			switch tt.ref {
			case "-":
				ref = ""
			case "":
			default:
				ref = tt.ref
			}
			srv := fakeDexatel(t, status, tt.body, func(t *testing.T, r *http.Request) {
				if code == "" || ref == "" {
					t.Error("a check without code or ref reached Dexatel")
				}
				if r.Method != http.MethodGet {
					t.Errorf("method = %s, want GET", r.Method)
				}
				if q := r.URL.Query(); q.Get("phone") != "12015550123" || q.Get("code") != code {
					t.Errorf("query = %v", q)
				}
			})
			c := testClient(srv.URL())
			c.Now = func() time.Time { return tt.now }
			got, err := c.CheckVerification(context.Background(), "+12015550123", code, ref)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckVerificationEscapes(t *testing.T) {
	const code = "12 34&phone=1+#"
	srv := fakeDexatel(t, 200, `{"data":[]}`, func(t *testing.T, r *http.Request) {
		if q := r.URL.Query(); q.Get("code") != code || q.Get("phone") != "12015550123" || len(q) != 2 {
			t.Errorf("query = %v (raw %q)", q, r.URL.RawQuery)
		}
		if raw := r.URL.RawQuery; strings.ContainsAny(raw, " #") || !strings.Contains(raw, "%2B") || !strings.Contains(raw, "%26") {
			t.Errorf("raw query %q is not escaped", r.URL.RawQuery)
		}
	})
	if ok, err := testClient(srv.URL()).CheckVerification(context.Background(), "+12015550123", code, "m1"); ok || err != nil {
		t.Errorf("= %v, %v; want false, nil", ok, err)
	}
}

func TestCheckVerificationErrorHidesCode(t *testing.T) {
	closed := fakegw.Closed()
	_, err := testClient(closed).CheckVerification(context.Background(), "+12015550123", "987654", "m1")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "987654") {
		t.Errorf("error %q holds the code", err)
	}
}
