package fakegw

import (
	"fmt"
	"net/http"
	"regexp"
)

// The credentials the fake Plivo expects: an Auth ID is "MA" or "SA" and
// 18 more capitals and digits.
const (
	PlivoAuthID    = "MAFAKEGW0123456789AB"
	PlivoAuthToken = "fakegw-plivo-auth-token"
)

// Plivo's Message API, as its docs publish it (plivo.com/docs/messaging/
// api/message/send-a-message, and Plivo's own examples,
// plivo/plivo-examples-php sms/send_sms.php): POST
// https://api.plivo.com/v1/Account/{auth_id}/Message/ with basic auth
// (auth_id:auth_token) and JSON {"src" | "powerpack_uuid", "dst", "text"};
// 202 with {"api_id","message":"message(s) queued","message_uuid":[…]}.
// Errors are {"api_id","error":"…"}: 401 for bad credentials, 400 for a
// bad parameter.

var plivoPath = regexp.MustCompile(`^/v1/Account/([^/]+)/Message/$`)

func plivoError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"api_id": "e5c7a8b2-0000-11ee-8000-000000000000", "error": msg})
}

// PlivoQueued is Plivo's answer to a message it took.
func PlivoQueued(uuid string) map[string]any {
	return map[string]any{"api_id": "e5c7a8b2-0000-11ee-8000-000000000001", "message": "message(s) queued", "message_uuid": []string{uuid}}
}

var plivoDst = regexp.MustCompile(`^\+?[1-9][0-9]{6,14}$`)

func (f *Gateways) plivo(w http.ResponseWriter, r *http.Request, mode string) {
	if u, p, ok := r.BasicAuth(); !ok || u != PlivoAuthID || p != PlivoAuthToken {
		plivoError(w, 401, "Authentication failed")
		return
	}
	if m := plivoPath.FindStringSubmatch(r.URL.Path); m[1] != PlivoAuthID {
		plivoError(w, 401, "Authentication failed")
		return
	}
	var b struct {
		Src           string `json:"src"`
		PowerpackUUID string `json:"powerpack_uuid"`
		Dst           string `json:"dst"`
		Text          string `json:"text"`
	}
	if !decodeJSON(r, &b) || !plivoDst.MatchString(b.Dst) || b.Text == "" || (b.Src == "") == (b.PowerpackUUID == "") {
		f.bad("Plivo body %+v", b)
		plivoError(w, 400, "dst parameter not present")
		return
	}
	if mode == "refuse" {
		plivoError(w, 400, b.Dst+" is not a valid phone number")
		return
	}
	seq := f.deliver(b.Dst, b.Text)
	writeJSON(w, 202, PlivoQueued(fmt.Sprintf("db3ce55a-7f1d-11e1-8ea7-%012x", seq)))
}
