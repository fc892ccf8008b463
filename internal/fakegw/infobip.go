package fakegw

import (
	"fmt"
	"net/http"
	"regexp"
)

// The API key the fake Infobip expects.
const InfobipKey = "fakegw-infobip-0123456789abcdef-0123456789abcdef"

// Infobip's SMS API v3, "Send SMS message", as its docs publish it
// (infobip.com/docs/api/channels/sms/sms-messaging/outbound-sms/send-sms-messages,
// the request sample on infobip.com/docs): POST {base_url}/sms/3/messages
// with Authorization: App <API key> and JSON {"messages":[{"sender",
// "destinations":[{"to":"41793026727"}],"content":{"text"}}]}; 200 with
// {"bulkId","messages":[{"messageId","status":{"groupId":1,"groupName":
// "PENDING","id":26,"name":"PENDING_ACCEPTED","description"},
// "destination"}]}, where a status of group 5 (REJECTED) is a refusal in a
// 200. Errors are {"requestError":{"serviceException":{"messageId","text"}}}
// (e.g. 401 UNAUTHORIZED "Invalid login details", 400 BAD_REQUEST).

var infobipTo = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

func infobipError(w http.ResponseWriter, status int, id, text string) {
	writeJSON(w, status, map[string]any{"requestError": map[string]any{"serviceException": map[string]string{"messageId": id, "text": text}}})
}

// InfobipStatus is Infobip's answer for one message with the given
// status group (1 PENDING, 5 REJECTED).
func InfobipStatus(id, to string, group int) map[string]any {
	st := map[string]any{"groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED", "description": "Message sent to next instance"}
	if group == 5 {
		st = map[string]any{"groupId": 5, "groupName": "REJECTED", "id": 6, "name": "REJECTED_NETWORK", "description": "Network is forbidden"}
	}
	return map[string]any{"bulkId": "2034072219640523073", "messages": []map[string]any{{"messageId": id, "status": st, "destination": to}}}
}

func (f *Gateways) infobip(w http.ResponseWriter, r *http.Request, mode string) {
	if r.Header.Get("Authorization") != "App "+InfobipKey {
		infobipError(w, 401, "UNAUTHORIZED", "Invalid login details")
		return
	}
	var b struct {
		Messages []struct {
			Sender       string `json:"sender"`
			Destinations []struct {
				To string `json:"to"`
			} `json:"destinations"`
			Content struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"messages"`
	}
	if !decodeJSON(r, &b) || len(b.Messages) != 1 || len(b.Messages[0].Destinations) != 1 ||
		!infobipTo.MatchString(b.Messages[0].Destinations[0].To) || b.Messages[0].Content.Text == "" {
		f.bad("Infobip body %+v", b)
		infobipError(w, 400, "BAD_REQUEST", "Bad request")
		return
	}
	to, text := b.Messages[0].Destinations[0].To, b.Messages[0].Content.Text
	if mode == "refuse" {
		infobipError(w, 400, "BAD_REQUEST", "Invalid destination address "+to)
		return
	}
	seq := f.deliver(to, text)
	writeJSON(w, 200, InfobipStatus(fmt.Sprintf("4198270219630523%04d", seq), to, 1))
}
