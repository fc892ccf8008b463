package fakegw

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The credentials and settings the fake Dexatel expects.
const (
	DexatelKey      = "test-dexatel-key"
	DexatelSender   = "TestBrand"
	DexatelTemplate = "tpl-1"
	// DexatelVoiceTemplate is the fake's VOICE template, for calls.
	DexatelVoiceTemplate = "tpl-voice"
	dexLayout            = "2006-01-02 15:04:05"
)

// Dexatel speaks Dexatel's Verify API: POST /v1/verifications with
// {"data":{…}} and GET /v1/verifications?phone=…&code=…, X-Dexatel-Key on
// every request, errors as {"errors":[…]}. It keeps every code "texted" so
// a test can read the SMS. The query answers with every unexpired
// verification of the phone, each with its id, message_id and code, as the
// real API may: the plugin must pick its own out of the list.
type Dexatel struct {
	server
	key      string
	mode     string              // "", "fail" (500) or "hang"
	codes    map[string][]string // phone digits -> codes, oldest first
	channels map[string][]string // phone digits -> the channel of each code
	ids      map[string][]int    // phone digits -> the seq of each code
	checks   []string            // "phone code" of every GET
	statuses []int               // every answer's status
	seq      int
}

// NewDexatel starts a fake Dexatel that expects DexatelKey, sender
// DexatelSender and template DexatelTemplate; it ends with t.
func NewDexatel(t testing.TB) *Dexatel {
	f := &Dexatel{key: DexatelKey, codes: map[string][]string{}, channels: map[string][]string{}, ids: map[string][]int{}}
	f.start(t, "fake Dexatel", f.serve)
	return f
}

// Slow is a second address for this fake, behind a gateway that takes
// about delay (give or take a sixth) to answer: the time a real send
// takes, for the tests that compare timings.
func (f *Dexatel) Slow(t testing.TB, delay time.Duration) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jitter := time.Duration(rand.Int64N(int64(delay/3))) - delay/6
		time.Sleep(delay + jitter)
		f.serve(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Set sets how the fake answers: "" as the API does, "fail" with a 500,
// "hang" not until the client gives up.
func (f *Dexatel) Set(mode string) {
	f.mu.Lock()
	f.mode = mode
	f.mu.Unlock()
}

// SetKey sets the API key the fake accepts, as a rotation would.
func (f *Dexatel) SetKey(key string) {
	f.mu.Lock()
	f.key = key
	f.mu.Unlock()
}

// ReadCode is the last code texted to phone (E.164).
func (f *Dexatel) ReadCode(t testing.TB, phone string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	codes := f.codes[strings.TrimPrefix(phone, "+")]
	if len(codes) == 0 {
		t.Fatalf("no SMS was sent to %s", phone)
	}
	return codes[len(codes)-1]
}

// Channels is the channel of every code phone received, oldest first:
// "SMS", "VOICE", ...
func (f *Dexatel) Channels(phone string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.channels[strings.TrimPrefix(phone, "+")]...)
}

// dexatelTemplates are the fake account's templates and the channel each
// was made for: Dexatel refuses a template of another channel (1628).
var dexatelTemplates = map[string]string{
	DexatelTemplate: "SMS", DexatelVoiceTemplate: "VOICE", "tpl-viber": "VIBER", "tpl-whatsapp": "WHATSAPP",
}

// dexatelChannels are the channels Dexatel's Verify API lists for a
// phone (its EMAIL channel takes an address).
var dexatelChannels = []string{"SMS", "VIBER", "WHATSAPP", "VOICE", "TELEGRAM"}

// Sent is how many codes phone received.
func (f *Dexatel) Sent(phone string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.codes[strings.TrimPrefix(phone, "+")])
}

// LastStatus is the status of the fake's last answer, 0 before any.
func (f *Dexatel) LastStatus() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.statuses) == 0 {
		return 0
	}
	return f.statuses[len(f.statuses)-1]
}

// Checks is "phone code" of every check (GET) the fake answered, oldest
// first.
func (f *Dexatel) Checks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.checks...)
}

func (f *Dexatel) answer(w http.ResponseWriter, status int, v any) {
	f.mu.Lock()
	f.statuses = append(f.statuses, status)
	f.mu.Unlock()
	writeJSON(w, status, v)
}

func (f *Dexatel) fail(w http.ResponseWriter, r *http.Request, status, code int, msg string) {
	f.answer(w, status, map[string]any{"errors": []map[string]any{{
		"timestamp": time.Now().UTC().Format(dexLayout), "path": r.URL.Path,
		"method": r.Method, "status": status, "message": msg, "code": code,
	}}})
}

// badRequest records a request the real Dexatel would refuse, and
// refuses it as Dexatel does.
func (f *Dexatel) badRequest(w http.ResponseWriter, r *http.Request, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.bad("%s", msg)
	f.fail(w, r, http.StatusBadRequest, 1523, msg)
}

func (f *Dexatel) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	key, mode := f.key, f.mode
	f.mu.Unlock()
	if r.Header.Get("X-Dexatel-Key") != key {
		f.fail(w, r, http.StatusUnauthorized, 1001, "Invalid API key")
		return
	}
	switch mode {
	case "fail":
		f.fail(w, r, http.StatusInternalServerError, 1000, "Internal server error")
		return
	case "hang":
		f.hang(r)
		return
	}
	switch {
	case r.URL.Path != "/v1/verifications":
		f.badRequest(w, r, "unknown path %s", r.URL.Path)
	case r.Method == http.MethodPost:
		f.create(w, r)
	case r.Method == http.MethodGet:
		f.check(w, r)
	default:
		f.badRequest(w, r, "method %s", r.Method)
	}
}

var digitsRE = regexp.MustCompile(`^[0-9]+$`)

func (f *Dexatel) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Sender, Phone, Template, Channel, Code string
			CodeLength                             any `json:"code_length"`
		} `json:"data"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if r.Header.Get("Content-Type") != "application/json" || dec.Decode(&body) != nil {
		f.badRequest(w, r, "body is not {\"data\":{…}} JSON")
		return
	}
	d := body.Data
	if !slices.Contains(dexatelChannels, d.Channel) {
		f.bad("channel %q", d.Channel)
		f.fail(w, r, http.StatusBadRequest, 1515, "Invalid channel")
		return
	}
	tplChannel, ok := dexatelTemplates[d.Template]
	if d.Sender != DexatelSender || !ok {
		f.badRequest(w, r, "sender %q template %q channel %q", d.Sender, d.Template, d.Channel)
		return
	}
	if tplChannel != d.Channel {
		f.bad("template %q of channel %s for channel %s", d.Template, tplChannel, d.Channel)
		f.fail(w, r, http.StatusBadRequest, 1628, "Incompatible template was provided")
		return
	}
	if !digitsRE.MatchString(d.Phone) || len(d.Phone) > 15 {
		f.badRequest(w, r, "phone %q is not digits with country code", d.Phone)
		return
	}
	code := d.Code
	switch n, _ := strconv.Atoi(fmt.Sprint(d.CodeLength)); {
	case code != "" && d.CodeLength != nil:
		f.badRequest(w, r, "both code and code_length")
		return
	case code != "":
		if !digitsRE.MatchString(code) || len(code) < 4 || len(code) > 8 {
			f.badRequest(w, r, "code is not 4 to 8 digits")
			return
		}
	case n >= 4 && n <= 8: // remote check: Dexatel makes the code
		for range n {
			code += strconv.Itoa(rand.IntN(10))
		}
	default:
		f.badRequest(w, r, "neither code nor a code_length of 4 to 8")
		return
	}
	f.mu.Lock()
	f.codes[d.Phone] = append(f.codes[d.Phone], code)
	f.channels[d.Phone] = append(f.channels[d.Phone], d.Channel)
	f.seq++
	f.ids[d.Phone] = append(f.ids[d.Phone], f.seq)
	id := strconv.Itoa(f.seq)
	f.mu.Unlock()
	now := time.Now().UTC()
	f.answer(w, http.StatusCreated, map[string]any{"data": map[string]any{
		"id": "vrf-" + id, "account_id": "acc-1", "message_id": "msg-" + id, "phone": d.Phone,
		"create_date": now.Format(dexLayout), "expire_date": now.Add(5 * time.Minute).Format(dexLayout),
	}})
}

func (f *Dexatel) check(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	phone, code := q.Get("phone"), q.Get("code")
	if !digitsRE.MatchString(phone) || code == "" {
		f.badRequest(w, r, "check with phone %q and an empty code or bad phone", phone)
		return
	}
	now := time.Now().UTC()
	list := []map[string]any{}
	f.mu.Lock()
	f.checks = append(f.checks, phone+" "+code)
	for i, c := range f.codes[phone] {
		id := strconv.Itoa(f.ids[phone][i])
		list = append(list, map[string]any{
			"id": "vrf-" + id, "account_id": "acc-1", "message_id": "msg-" + id, "phone": phone, "code": c,
			"create_date": now.Format(dexLayout), "expire_date": now.Add(5 * time.Minute).Format(dexLayout),
		})
	}
	f.mu.Unlock()
	f.answer(w, http.StatusOK, map[string]any{"data": list,
		"pagination": map[string]any{"page": 0, "size": 20, "total": len(list)}})
}
