package fakegw

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Credentials the fake gateways expect, in the published shapes: Twilio
// SIDs are two letters and 32 hex digits, a Vonage api_key is 8
// characters and its api_secret 16.
const (
	TwilioAccount = "AC0123456789abcdef0123456789abcdef"
	TwilioToken   = "test-twilio-token"
	TwilioService = "VA0123456789abcdef0123456789abcdef"
	VonageKey     = "a1b2c3d4"
	VonageSecret  = "Vg0nageSecret123"
	HookBearer    = "Bearer hook-token"
)

// Gateways is one server speaking Twilio's Messages and Verify v2
// APIs, Vonage's SMS API, a generic JSON webhook and the message APIs in
// more.go (Amazon SNS, Telnyx, Plivo, Sinch, Infobip, MessageBird), each in its own wire
// format (paths, auth, bodies, error shapes). It keeps every SMS it
// "delivers" so a test can read the code as a phone would, and every
// code Verify made so it can check them.
type Gateways struct {
	server
	mode      string              // "", "refuse" (the API's own 4xx), "quote", "5xx", "garbage" or "hang"
	valid     string              // what a Verify approval says of the legacy "valid": "true" (default), "null", "absent" or "false"
	texts     map[string][]string // phone digits -> SMS texts, oldest first
	verify    map[string]string   // phone digits -> pending Verify code
	verifySID map[string]string   // phone digits -> its verification's SID
	verifyCh  map[string][]string // phone digits -> the Channel of each verification, oldest first
	checks    int                 // Verify checks answered
	verifyN   map[string]int      // phone digits -> checks of its pending verification
	seq       int
}

// NewGateways starts the fake gateways, which expect the credentials
// above; they end with t.
func NewGateways(t testing.TB) *Gateways {
	f := &Gateways{texts: map[string][]string{}, verify: map[string]string{}, verifySID: map[string]string{}, verifyCh: map[string][]string{}, verifyN: map[string]int{}}
	f.start(t, "fake gateway", f.serve)
	return f
}

// Set sets how every API answers: "" as it does, "refuse" with the API's
// own refusal, "quote" as refuse but with Twilio's and Vonage's message
// APIs quoting the text they were sent (and so the code) in their error,
// "5xx" with a 503 page, "garbage" with a cut JSON body, "hang" not until
// the client gives up.
func (f *Gateways) Set(mode string) {
	f.mu.Lock()
	f.mode = mode
	f.mu.Unlock()
}

// SetValid sets what an approved VerificationCheck says in "valid",
// which Twilio's OpenAPI file marks nullable and deprecated.
func (f *Gateways) SetValid(v string) {
	f.mu.Lock()
	f.valid = v
	f.mu.Unlock()
}

// ReadCode is the code in the last SMS to phone, read from its
// origin-bound line as a phone would, which must name the test site
// (localhost); for
// Verify, Twilio's own SMS, the pending code.
func (f *Gateways) ReadCode(t testing.TB, phone string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	d := strings.TrimPrefix(phone, "+")
	if c, ok := f.verify[d]; ok {
		return c
	}
	texts := f.texts[d]
	if len(texts) == 0 {
		t.Fatalf("no SMS was sent to %s", phone)
	}
	m := OriginBound.FindStringSubmatch(texts[len(texts)-1])
	if m == nil || m[1] != "localhost" {
		t.Fatalf("SMS %q lacks the origin-bound line for localhost", texts[len(texts)-1])
	}
	return m[2]
}

// Sent is how many SMS phone received; a pending Verify code counts
// as one.
func (f *Gateways) Sent(phone string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.texts[strings.TrimPrefix(phone, "+")])
	if _, ok := f.verify[strings.TrimPrefix(phone, "+")]; ok {
		n++
	}
	return n
}

// LastText is the last SMS text to phone, "" if none.
func (f *Gateways) LastText(phone string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	texts := f.texts[strings.TrimPrefix(phone, "+")]
	if len(texts) == 0 {
		return ""
	}
	return texts[len(texts)-1]
}

// MaxVerifyChecks is how many checks Twilio Verify answers of one
// verification; it refuses the next with 429 and code 60202 ("Max (5)
// verification check attempts reached", twilio.com/docs/api/errors/60202).
// A verification started again while one is pending is the same one
// (Twilio sends the same code during its validity period), so its checks
// keep counting; this fake makes a new code all the same.
const MaxVerifyChecks = 5

// twilioError is Twilio's error body.
func twilioError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status})
}

var (
	messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)
	verifyPath   = regexp.MustCompile(`^/v2/Services/([^/]+)/(Verifications|VerificationCheck)$`)
)

func (f *Gateways) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "caddy-phone-otp/") {
		f.bad("User-Agent %q", ua)
	}
	if r.Method != http.MethodPost {
		f.bad("%s %s", r.Method, r.URL.Path)
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	switch mode {
	case "5xx":
		http.Error(w, "<html>503 Service Unavailable</html>", http.StatusServiceUnavailable)
		return
	case "garbage":
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"sid":"SM`))
		return
	case "hang":
		f.hang(r)
		return
	case "quote":
		if !messagesPath.MatchString(r.URL.Path) && r.URL.Path != "/sms/json" {
			mode = "refuse"
		}
	}
	switch {
	case messagesPath.MatchString(r.URL.Path):
		f.twilioMessages(w, r, mode, messagesPath.FindStringSubmatch(r.URL.Path)[1])
	case verifyPath.MatchString(r.URL.Path):
		m := verifyPath.FindStringSubmatch(r.URL.Path)
		f.twilioVerify(w, r, mode, m[1], m[2])
	case r.URL.Path == "/sms/json":
		f.vonage(w, r, mode)
	case r.URL.Path == "/hook":
		f.webhook(w, r, mode)
	default:
		if f.serveMore(w, r, mode) {
			return
		}
		f.bad("unknown path %s", r.URL.Path)
		http.NotFound(w, r)
	}
}

// twilioForm checks basic auth and the form, as Twilio does.
func (f *Gateways) twilioForm(w http.ResponseWriter, r *http.Request) bool {
	if u, p, ok := r.BasicAuth(); !ok || u != TwilioAccount || p != TwilioToken {
		twilioError(w, 401, 20003, "Authenticate")
		return false
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		f.bad("Twilio body is not a form")
		twilioError(w, 400, 20001, "bad form")
		return false
	}
	return true
}

func (f *Gateways) twilioMessages(w http.ResponseWriter, r *http.Request, mode, account string) {
	if !f.twilioForm(w, r) {
		return
	}
	to, body := r.PostForm.Get("To"), r.PostForm.Get("Body")
	if account != TwilioAccount || !e164.MatchString(to) || body == "" ||
		(r.PostForm.Get("From") == "") == (r.PostForm.Get("MessagingServiceSid") == "") {
		f.bad("Twilio message: account %q form %v", account, r.PostForm)
		twilioError(w, 400, 21604, "A 'From' or 'MessagingServiceSid' parameter is required")
		return
	}
	if mode == "refuse" {
		twilioError(w, 400, 21211, "Invalid 'To' Phone Number: "+to)
		return
	}
	if mode == "quote" {
		twilioError(w, 400, 30007, "Message filtered: "+body)
		return
	}
	f.mu.Lock()
	f.seq++
	d := strings.TrimPrefix(to, "+")
	f.texts[d] = append(f.texts[d], body)
	sid := fmt.Sprintf("SM%032x", f.seq)
	f.mu.Unlock()
	writeJSON(w, 201, map[string]any{"sid": sid, "account_sid": TwilioAccount, "to": to, "from": r.PostForm.Get("From"),
		"body": body, "status": "queued", "error_code": nil, "error_message": nil, "api_version": "2010-04-01"})
}

func (f *Gateways) twilioVerify(w http.ResponseWriter, r *http.Request, mode, service, op string) {
	if !f.twilioForm(w, r) {
		return
	}
	to := r.PostForm.Get("To")
	if service != TwilioService || !e164.MatchString(to) {
		f.bad("Twilio Verify: service %q form %v", service, r.PostForm)
		twilioError(w, 400, 60200, "Invalid parameter")
		return
	}
	d := strings.TrimPrefix(to, "+")
	if mode == "refuse" && op == "Verifications" {
		twilioError(w, 429, 60203, "Max send attempts reached")
		return
	}
	if mode == "refuse" {
		twilioError(w, 429, 60202, "Max check attempts reached")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if op == "Verifications" {
		channel := r.PostForm.Get("Channel")
		switch channel {
		case "sms", "call", "whatsapp":
		case "email", "sna", "auto":
			// Real channels, but none phone_otp asks for.
			f.protoErr = append(f.protoErr, "Verify channel "+channel)
		default:
			f.protoErr = append(f.protoErr, "Verify channel "+channel)
			twilioError(w, 400, 60200, "Invalid parameter: Channel")
			return
		}
		f.verifyCh[d] = append(f.verifyCh[d], channel)
		code := ""
		for range 6 {
			code += strconv.Itoa(rand.IntN(10))
		}
		if _, pending := f.verify[d]; !pending {
			f.verifyN[d] = 0 // a new verification: its checks start again
		}
		f.verify[d] = code
		f.seq++
		f.verifySID[d] = fmt.Sprintf("VE%032x", f.seq)
		writeJSON(w, 201, map[string]any{"sid": f.verifySID[d], "service_sid": TwilioService,
			"to": to, "channel": channel, "status": "pending", "valid": false})
		return
	}
	f.checks++
	code := r.PostForm.Get("Code")
	want, ok := f.verify[d]
	if ok && code != "" {
		f.verifyN[d]++
	}
	switch {
	case ok && f.verifyN[d] > MaxVerifyChecks:
		twilioError(w, 429, 60202, "Max check attempts reached")
	case code == "":
		f.protoErr = append(f.protoErr, "VerificationCheck without Code")
		twilioError(w, 400, 60200, "Invalid parameter")
	case !ok:
		twilioError(w, 404, 20404, "The requested resource /Services/"+service+"/VerificationCheck was not found")
	case code == want:
		delete(f.verify, d) // approved: used up
		body := map[string]any{"sid": f.verifySID[d], "service_sid": TwilioService, "to": to, "channel": "sms", "status": "approved", "valid": true}
		switch f.valid {
		case "null":
			body["valid"] = nil
		case "absent":
			delete(body, "valid")
		case "false":
			body["valid"] = false
		}
		writeJSON(w, 200, body)
	default:
		writeJSON(w, 200, map[string]any{"sid": f.verifySID[d], "service_sid": TwilioService, "to": to, "channel": "sms", "status": "pending", "valid": false})
	}
}

// VerifyChannels is the Channel of every verification Verify started for
// phone, oldest first.
func (f *Gateways) VerifyChannels(phone string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.verifyCh[strings.TrimPrefix(phone, "+")]...)
}

// ExpireVerify makes Twilio forget the pending code for phone.
func (f *Gateways) ExpireVerify(phone string) {
	f.mu.Lock()
	delete(f.verify, strings.TrimPrefix(phone, "+"))
	delete(f.verifyN, strings.TrimPrefix(phone, "+"))
	f.mu.Unlock()
}

// Checks is how many VerificationChecks Twilio Verify answered.
func (f *Gateways) Checks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks
}

func (f *Gateways) vonage(w http.ResponseWriter, r *http.Request, mode string) {
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		f.bad("Vonage body is not a form")
	}
	fm := r.PostForm
	if fm.Get("api_key") != VonageKey || fm.Get("api_secret") != VonageSecret || mode == "refuse" {
		writeJSON(w, 200, map[string]any{"message-count": "1", "messages": []map[string]string{{"status": "4", "error-text": "Bad Credentials"}}})
		return
	}
	to := fm.Get("to")
	if !regexp.MustCompile(`^[1-9][0-9]{6,14}$`).MatchString(to) || fm.Get("from") == "" || fm.Get("text") == "" {
		f.bad("Vonage form %v", fm)
		writeJSON(w, 200, map[string]any{"message-count": "1", "messages": []map[string]string{{"status": "2", "error-text": "Missing to param"}}})
		return
	}
	if mode == "quote" {
		writeJSON(w, 200, map[string]any{"message-count": "1", "messages": []map[string]string{{"status": "6", "error-text": "Invalid Message: " + fm.Get("text")}}})
		return
	}
	f.mu.Lock()
	f.texts[to] = append(f.texts[to], fm.Get("text"))
	f.seq++
	id := fmt.Sprintf("0A%015d", f.seq)
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{"message-count": "1", "messages": []map[string]string{{
		"to": to, "message-id": id, "status": "0", "remaining-balance": "3.14", "message-price": "0.0333", "network": "12345"}}})
}

// webhook is a made-up gateway: JSON {"to","text"} with a bearer token,
// 202 when taken.
func (f *Gateways) webhook(w http.ResponseWriter, r *http.Request, mode string) {
	if r.Header.Get("Authorization") != HookBearer {
		writeJSON(w, 401, map[string]string{"error": "unauthorized"})
		return
	}
	var body struct{ To, Text string }
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if r.Header.Get("Content-Type") != "application/json" || dec.Decode(&body) != nil || !e164.MatchString(body.To) {
		f.bad("webhook body is not {\"to\",\"text\"} JSON")
		writeJSON(w, 400, map[string]string{"error": "bad request"})
		return
	}
	if mode == "refuse" {
		writeJSON(w, 400, map[string]string{"error": "rejected " + body.Text})
		return
	}
	f.mu.Lock()
	d := strings.TrimPrefix(body.To, "+")
	f.texts[d] = append(f.texts[d], body.Text)
	f.mu.Unlock()
	writeJSON(w, 202, map[string]string{"status": "queued"})
}
