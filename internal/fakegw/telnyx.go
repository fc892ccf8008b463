package fakegw

import (
	"fmt"
	"net/http"
)

// The API key the fake Telnyx expects.
const TelnyxKey = "KEY0123456789ABCDEF_fakegwTelnyx"

// Telnyx's Messages API v2, as its docs publish it: "Send a message",
// POST https://api.telnyx.com/v2/messages with Authorization: Bearer
// <API key> and a JSON body {"from" | "messaging_profile_id", "to",
// "text"} (developers.telnyx.com/docs/messaging/messages/send-message and
// the API reference's Send a message); 200 with {"data":{"record_type":
// "message","id",…,"to":[{"phone_number","status":"queued"}]}}. Errors
// are {"errors":[{"code","title","detail","source":{"pointer"},"meta":
// {"url"}}]} (developers.telnyx.com/development/api-fundamentals/api-errors):
// 10009 Authentication failed (401), 40310 Invalid 'to' address (400).

// TelnyxError is Telnyx's error body.
func TelnyxError(code, title, detail string) map[string]any {
	return map[string]any{"errors": []map[string]any{{"code": code, "title": title, "detail": detail,
		"meta": map[string]string{"url": "https://developers.telnyx.com/docs/overview/errors/" + code}}}}
}

// TelnyxSent is Telnyx's answer to a message it took.
func TelnyxSent(id, from, to, text string) map[string]any {
	return map[string]any{"data": map[string]any{"record_type": "message", "direction": "outbound", "id": id, "type": "SMS",
		"from": map[string]string{"phone_number": from}, "to": []map[string]string{{"phone_number": to, "status": "queued"}},
		"text": text, "parts": 1, "encoding": "GSM-7"}}
}

func (f *Gateways) telnyx(w http.ResponseWriter, r *http.Request, mode string) {
	if r.Header.Get("Authorization") != "Bearer "+TelnyxKey {
		writeJSON(w, 401, TelnyxError("10009", "Authentication failed", "The required authentication headers were either invalid or not included in the request."))
		return
	}
	var b struct {
		From               string `json:"from"`
		MessagingProfileID string `json:"messaging_profile_id"`
		To                 string `json:"to"`
		Text               string `json:"text"`
	}
	if !decodeJSON(r, &b) || !e164.MatchString(b.To) || b.Text == "" || (b.From == "" && b.MessagingProfileID == "") {
		f.bad("Telnyx body %+v", b)
		writeJSON(w, 400, TelnyxError("10015", "Bad Request", "The request failed because it was not well-formed."))
		return
	}
	if mode == "refuse" {
		writeJSON(w, 400, TelnyxError("40310", "Invalid 'to' address", "The 'to' address "+b.To+" is invalid."))
		return
	}
	seq := f.deliver(b.To, b.Text)
	writeJSON(w, 200, TelnyxSent(fmt.Sprintf("40385f64-5717-4562-b3fc-%012x", seq), b.From, b.To, b.Text))
}
