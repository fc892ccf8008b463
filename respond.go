package caddyotp

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
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

// outcome is how a kind is answered: one status and one error code for
// JSON. No handler picks its own status. The sentence for people is the
// text err.<code> (texts.go), in the visitor's language on pages.
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
	kindLoginRequired:    {http.StatusUnauthorized, "otp_required"},
	kindNotFound:         {http.StatusNotFound, "not_found"},
	kindMethodNotAllowed: {http.StatusMethodNotAllowed, "method_not_allowed"},
	kindTooLarge:         {http.StatusRequestEntityTooLarge, "request_too_large"},
	kindUnsupportedMedia: {http.StatusUnsupportedMediaType, "unsupported_media_type"},
}

// humanMessage is the English sentence for r, as the JSON API's `message`:
// JSON clients key on `error`, and get one language whatever they send.
func humanMessage(r *refusal) string { return english.refusal(r) }

func seconds(d time.Duration) int64 { return int64(math.Ceil(d.Seconds())) }

// noStore marks a response as personal and never to be cached.
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	noStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeRefusalJSON answers a refusal in the SPEC's JSON shapes.
func writeRefusalJSON(w http.ResponseWriter, r *refusal, extra map[string]any) {
	o := outcomeTable[r.kind]
	body := map[string]any{"error": o.code, "message": humanMessage(r)}
	switch r.kind {
	case kindRateLimited, kindBlocked:
		body["retry_after"] = seconds(r.retryAfter)
		w.Header().Set("Retry-After", strconv.FormatInt(seconds(r.retryAfter), 10))
	case kindInvalidCode:
		body["attempts_left"] = r.attemptsLeft
	}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, o.status, body)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
