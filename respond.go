package caddyotp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/ui"
)

// kind is every way a request can end other than in success: the flow's
// outcomes (flow.Kind), and more that come from HTTP. outcomeTable maps
// each to one HTTP status and error code.
type kind int

// The flow's outcomes, under the same numbers.
const (
	kindInvalidRequest = kind(flow.InvalidRequest)
	kindRateLimited    = kind(flow.RateLimited)
	kindBlocked        = kind(flow.Blocked)
	kindSMSFailed      = kind(flow.SMSFailed)
	kindInvalidCode    = kind(flow.InvalidCode)
	kindExpired        = kind(flow.Expired)
	kindUnavailable    = kind(flow.Unavailable)
	kindTooManyChecks  = kind(flow.TooManyChecks)
)

// Outcome kinds that come from HTTP rather than the flow; numbered apart
// from the flow's.
const (
	kindInvalidPhone kind = iota + 100
	kindForbidden
	kindLoginRequired
	kindNotFound
	kindMethodNotAllowed
	kindTooLarge
	kindUnsupportedMedia
	kindUnknownUser // users_file: no first-factor user, or one not listed
	kindUnknownHost // a send for a Host that is not the site's (origin.go)
)

// refusal is a request the handler does not do as asked: a flow.Refusal
// as the HTTP layer answers it, or one of its own.
type refusal struct {
	kind         kind
	retryAfter   time.Duration // rate_limited, blocked
	attemptsLeft int           // invalid_code
	limit        string        // rate_limited: ip, phone, global or resend
	newBlock     bool          // blocked: this call set the block
	err          error         // the cause, for the log only
}

func (r *refusal) Error() string {
	if r.err != nil {
		return fmt.Sprintf("%s: %v", outcomeTable[r.kind].code, r.err)
	}
	return outcomeTable[r.kind].code
}

func (r *refusal) Unwrap() error { return r.err }

func refuse(k kind) *refusal { return &refusal{kind: k} }

// unavailable wraps a store error: the handler fails closed.
func unavailable(op string, err error) *refusal {
	return &refusal{kind: kindUnavailable, err: fmt.Errorf("store: %s: %w", op, err)}
}

// fromFlow is the flow's refusal as the HTTP layer answers it.
func fromFlow(r *flow.Refusal) *refusal {
	return &refusal{kind: kind(r.Kind), retryAfter: r.RetryAfter, attemptsLeft: r.AttemptsLeft,
		limit: r.Limit, newBlock: r.NewBlock, err: r.Err}
}

// outcome is how a kind is answered: one status and one error code for
// JSON. No handler picks its own status. The sentence for people is the
// text err.<code> (internal/ui/texts.go), in the visitor's language on pages.
type outcome struct {
	status int
	code   string
}

var outcomeTable = map[kind]outcome{
	kindInvalidPhone:     {http.StatusBadRequest, "invalid_phone"},
	kindInvalidRequest:   {http.StatusBadRequest, "invalid_request"},
	kindRateLimited:      {http.StatusTooManyRequests, "rate_limited"},
	kindBlocked:          {http.StatusTooManyRequests, "blocked"},
	kindSMSFailed:        {http.StatusBadGateway, "sms_failed"},
	kindInvalidCode:      {http.StatusUnauthorized, "invalid_code"},
	kindExpired:          {http.StatusGone, "expired"},
	kindForbidden:        {http.StatusForbidden, "forbidden"},
	kindUnavailable:      {http.StatusServiceUnavailable, "unavailable"},
	kindTooManyChecks:    {http.StatusTooManyRequests, "too_many_checks"},
	kindLoginRequired:    {http.StatusUnauthorized, "otp_required"},
	kindNotFound:         {http.StatusNotFound, "not_found"},
	kindMethodNotAllowed: {http.StatusMethodNotAllowed, "method_not_allowed"},
	kindTooLarge:         {http.StatusRequestEntityTooLarge, "request_too_large"},
	kindUnsupportedMedia: {http.StatusUnsupportedMediaType, "unsupported_media_type"},
	kindUnknownUser:      {http.StatusForbidden, "unknown_user"},
	kindUnknownHost:      {http.StatusBadRequest, "unknown_host"},
}

// humanMessage is the English sentence for r, as the JSON API's `message`:
// JSON clients key on `error`, and get one language whatever they send.
func humanMessage(r *refusal) string { return refusalText(ui.English(), r) }

// jsonMessage is humanMessage for the JSON API. The sentences for
// rate_limited and blocked depend only on the kind and the wait as it is
// said (seconds under a minute, else minutes), and floods of refusals ask
// for a few of them over and over: each is made once and kept.
func jsonMessage(r *refusal) string {
	if r.kind != kindRateLimited && r.kind != kindBlocked {
		return humanMessage(r)
	}
	var i int
	if r.retryAfter < time.Minute {
		i = int(max(1, seconds(r.retryAfter))) - 1
	} else {
		i = 60 + int(math.Ceil(r.retryAfter.Minutes()))
	}
	if i >= len(refusalMemo[0]) {
		return humanMessage(r)
	}
	slot := &refusalMemo[0][i]
	if r.kind == kindBlocked {
		slot = &refusalMemo[1][i]
	}
	if p := slot.Load(); p != nil {
		return *p
	}
	msg := humanMessage(r)
	slot.Store(&msg)
	return msg
}

// refusalMemo holds jsonMessage's sentences: [rate_limited, blocked] by
// wait, 60 slots of seconds and then a day of minutes.
var refusalMemo [2][60 + 24*60 + 1]atomic.Pointer[string]

func seconds(d time.Duration) int64 { return int64(math.Ceil(d.Seconds())) }

// noStore marks a response as personal and never to be cached.
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h["Cache-Control"] = ownValue("no-store")
	h["X-Content-Type-Options"] = ownValue("nosniff")
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	noStore(w)
	w.Header()["Content-Type"] = ownValue("application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ownValue is a header value slice of its own, holding s. Header maps must
// never share a slice with another request or response: Caddy's `header`
// and `request_header` handlers edit values in place, so a shared slice
// would carry one site's edit into every later answer, one more time each,
// and two requests editing it at once would race. The slices are cut from
// blocks, as net/textproto does for the headers it reads: each is one
// element with cap 1, so an append elsewhere copies, and an element is
// written once, before it is handed out, and never reused. That costs one
// allocation per 64 values instead of one per value.
func ownValue(s string) []string {
	b := valueBlocks.Get().(*valueBlock)
	if b.n == len(b.vals) {
		b = new(valueBlock)
	}
	b.vals[b.n] = s
	v := b.vals[b.n : b.n+1 : b.n+1]
	b.n++
	valueBlocks.Put(b)
	return v
}

type valueBlock struct {
	vals [64]string
	n    int
}

var valueBlocks = sync.Pool{New: func() any { return new(valueBlock) }}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// writeRefusalJSON answers a refusal in the SPEC's JSON shapes:
// {"error":…,"message":…} plus retry_after, attempts_left or login. It is
// written by hand because floods of refusals take this path.
func writeRefusalJSON(w http.ResponseWriter, r *refusal, login string) {
	o := outcomeTable[r.kind]
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], `{"error":"`...)
	b = append(b, o.code...)
	b = append(b, `","message":"`...)
	if msg := jsonMessage(r); jsonUnsafe(msg) {
		b = append(b[:len(b)-1], mustJSON(msg)...)
	} else {
		b = append(append(b, msg...), '"')
	}
	hdr := w.Header()
	switch r.kind {
	case kindRateLimited, kindBlocked:
		b = append(b, `,"retry_after":`...)
		b = strconv.AppendInt(b, seconds(r.retryAfter), 10)
		hdr["Retry-After"] = []string{strconv.FormatInt(seconds(r.retryAfter), 10)}
	case kindInvalidCode:
		b = append(b, `,"attempts_left":`...)
		b = strconv.AppendInt(b, int64(r.attemptsLeft), 10)
	}
	if login != "" {
		b = append(b, `,"login":`...)
		b = append(b, mustJSON(login)...)
	}
	b = append(b, "}\n"...)
	noStore(w)
	hdr["Content-Type"] = ownValue("application/json")
	w.WriteHeader(o.status)
	w.Write(b)
	*bp = b
	bufPool.Put(bp)
}

// jsonUnsafe reports whether s needs escaping inside a JSON string. Our
// sentences are valid UTF-8 (their own source, or JSON files checked at
// start-up), which JSON takes as it is.
func jsonUnsafe(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c == '"' || c == '\\' {
			return true
		}
	}
	return false
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// refuse answers a refusal in kind: a page for forms, JSON otherwise.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, form bool, ref *refusal, in ...*input) {
	if !form {
		writeRefusalJSON(w, ref, "")
		return
	}
	var typed *input
	if len(in) > 0 {
		typed = in[0]
	}
	h.refusalPage(w, r, ref, typed)
}

// asRefusal turns any error into a refusal: the flow's become the HTTP
// layer's; anything unexpected fails closed.
func asRefusal(err error) *refusal {
	var ref *refusal
	if errors.As(err, &ref) {
		return ref
	}
	var fr *flow.Refusal
	if errors.As(err, &fr) {
		return fromFlow(fr)
	}
	return &refusal{kind: kindUnavailable, err: err}
}
