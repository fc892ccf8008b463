package caddyotp

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// More outcome kinds that come from HTTP rather than the flow.
const (
	kindLoginRequired kind = iota + 100
	kindNotFound
	kindMethodNotAllowed
	kindTooLarge
	kindUnsupportedMedia
)

// outcome is how a kind is answered: one status, one error code for JSON,
// one sentence for people. No handler picks its own status.
type outcome struct {
	status  int
	code    string
	message string
}

var outcomeTable = map[kind]outcome{
	kindInvalidPhone:     {http.StatusBadRequest, "invalid_phone", "That number doesn't look right. Include the country code, like +1 201 555 0123."},
	kindInvalidRequest:   {http.StatusBadRequest, "invalid_request", "That request was incomplete or malformed. Please start again."},
	kindRateLimited:      {http.StatusTooManyRequests, "rate_limited", "Too many codes were requested. Try again in %s."},
	kindBlocked:          {http.StatusTooManyRequests, "blocked", "Too many wrong codes. Try again in %s."},
	kindSMSFailed:        {http.StatusBadGateway, "sms_failed", "We couldn't send the text message just now. Please try again."},
	kindInvalidCode:      {http.StatusUnauthorized, "invalid_code", "That code isn't right. %s left."},
	kindExpired:          {http.StatusGone, "expired", "That code has expired or was replaced. Ask for a new one."},
	kindForbidden:        {http.StatusForbidden, "forbidden", "This form has expired or came from another site. Please reload the page and try again."},
	kindUnavailable:      {http.StatusServiceUnavailable, "unavailable", "Sign-in is unavailable right now. Please try again in a minute."},
	kindLoginRequired:    {http.StatusUnauthorized, "otp_required", "Please sign in."},
	kindNotFound:         {http.StatusNotFound, "not_found", "There is no such page."},
	kindMethodNotAllowed: {http.StatusMethodNotAllowed, "method_not_allowed", "That method is not allowed here."},
	kindTooLarge:         {http.StatusRequestEntityTooLarge, "request_too_large", "That request was too large."},
	kindUnsupportedMedia: {http.StatusUnsupportedMediaType, "unsupported_media_type", "Send a form or JSON (Content-Type: application/json)."},
}

// humanMessage is the sentence a visitor reads for r.
func humanMessage(r *refusal) string { return string(appendHumanMessage(nil, r)) }

// appendHumanMessage appends humanMessage(r) to b without formatting
// machinery: refusals are answered on the paths a flood takes.
func appendHumanMessage(b []byte, r *refusal) []byte {
	msg := outcomeTable[r.kind].message
	before, after, ok := strings.Cut(msg, "%s")
	b = append(b, before...)
	if !ok {
		return b
	}
	switch r.kind {
	case kindRateLimited, kindBlocked:
		b = appendHumanDuration(b, r.retryAfter)
	case kindInvalidCode:
		b = strconv.AppendInt(b, int64(r.attemptsLeft), 10)
		if r.attemptsLeft == 1 {
			b = append(b, " attempt"...)
		} else {
			b = append(b, " attempts"...)
		}
	}
	return append(b, after...)
}

func humanDuration(d time.Duration) string { return string(appendHumanDuration(nil, d)) }

func appendHumanDuration(b []byte, d time.Duration) []byte {
	n, unit := int64(math.Ceil(d.Seconds())), " second"
	if d >= time.Minute {
		n, unit = int64(math.Ceil(d.Minutes())), " minute"
	}
	n = max(n, 1)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, unit...)
	if n != 1 {
		b = append(b, 's')
	}
	return b
}

func seconds(d time.Duration) int64 { return int64(math.Ceil(d.Seconds())) }

// Header values that never change, shared by every response. Their
// capacity equals their length, so a later Add copies rather than writes.
var (
	hdrNoStore = []string{"no-store"}[:1:1]
	hdrNosniff = []string{"nosniff"}[:1:1]
	hdrJSON    = []string{"application/json"}[:1:1]
)

// noStore marks a response as personal and never to be cached.
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	h["X-Content-Type-Options"] = hdrNosniff
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	noStore(w)
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

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
	msgStart := len(b)
	b = appendHumanMessage(b, r)
	if jsonUnsafe(b[msgStart:]) {
		b = append(b[:msgStart-1], mustJSON(humanMessage(r))...)
	} else {
		b = append(b, '"')
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
	hdr["Content-Type"] = hdrJSON
	w.WriteHeader(o.status)
	w.Write(b)
	*bp = b
	bufPool.Put(bp)
}

// jsonUnsafe reports whether s needs escaping inside a JSON string.
func jsonUnsafe(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
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
