package caddyotp

import (
	"encoding/json"
	"fmt"
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
func humanMessage(r *refusal) string {
	o := outcomeTable[r.kind]
	switch r.kind {
	case kindRateLimited, kindBlocked:
		return fmt.Sprintf(o.message, humanDuration(r.retryAfter))
	case kindInvalidCode:
		if r.attemptsLeft == 1 {
			return fmt.Sprintf(o.message, "1 attempt")
		}
		return fmt.Sprintf(o.message, strconv.Itoa(r.attemptsLeft)+" attempts")
	}
	return o.message
}

func humanDuration(d time.Duration) string {
	if d < time.Minute {
		s := int(math.Ceil(d.Seconds()))
		if s <= 1 {
			return "1 second"
		}
		return strconv.Itoa(s) + " seconds"
	}
	m := int(math.Ceil(d.Minutes()))
	if m == 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}

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
