package fakegw

import (
	"fmt"
	"net/http"
	"regexp"
)

// The service plan and token the fake Sinch expects.
const (
	SinchServicePlan = "jd63jf88477ll123ab4567cd89012ef3"
	SinchToken       = "fakegw-sinch-api-token"
)

// Sinch's SMS REST API, as its OpenAPI description and reference publish
// it (developers.sinch.com/docs/sms/api-reference/sms/batches, "Send";
// the tutorials' POST https://us.sms.api.sinch.com/xms/v1/{service_plan_id}/batches):
// Authorization: Bearer <API token>, JSON {"from", "to":[E.164, 1..1000],
// "body" (up to 2000 characters), "type":"mt_text" by default}; 201 with
// the batch, {"id","to","from","canceled":false,"body","type":"mt_text",
// "created_at",…}. Errors (developers.sinch.com/docs/sms/api-reference/
// status-codes) are {"code","text"}: 400 syntax_invalid_parameter_format
// and the like, 401 for a bad token, 403 for a plan it does not own.

var sinchPath = regexp.MustCompile(`^/xms/v1/([^/]+)/batches$`)

func sinchError(w http.ResponseWriter, status int, code, text string) {
	writeJSON(w, status, map[string]string{"code": code, "text": text})
}

// SinchBatch is Sinch's answer to a batch it created.
func SinchBatch(id, from, to, body string) map[string]any {
	return map[string]any{"id": id, "to": []string{to}, "from": from, "canceled": false, "body": body,
		"type": "mt_text", "created_at": "2026-01-01T00:00:00.000Z", "modified_at": "2026-01-01T00:00:00.000Z",
		"delivery_report": "none", "flash_message": false}
}

func (f *Gateways) sinch(w http.ResponseWriter, r *http.Request, mode string) {
	if r.Header.Get("Authorization") != "Bearer "+SinchToken {
		sinchError(w, 401, "unauthorized", "Unauthorized")
		return
	}
	if sinchPath.FindStringSubmatch(r.URL.Path)[1] != SinchServicePlan {
		sinchError(w, 403, "forbidden", "Service plan not found")
		return
	}
	var b struct {
		From string   `json:"from"`
		To   []string `json:"to"`
		Body string   `json:"body"`
		Type string   `json:"type"`
	}
	if !decodeJSON(r, &b) || len(b.To) != 1 || !e164.MatchString(b.To[0]) || b.Body == "" || len(b.Body) > 2000 || (b.Type != "" && b.Type != "mt_text") {
		f.bad("Sinch body %+v", b)
		sinchError(w, 400, "syntax_invalid_json", "The JSON input is invalid")
		return
	}
	if mode == "refuse" {
		sinchError(w, 400, "syntax_invalid_parameter_format", "Invalid recipient: "+b.To[0])
		return
	}
	seq := f.deliver(b.To[0], b.Body)
	writeJSON(w, 201, SinchBatch(fmt.Sprintf("01FC66621XXXXX%012X", seq), b.From, b.To[0], b.Body))
}
