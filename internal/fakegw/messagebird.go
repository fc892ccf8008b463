package fakegw

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
)

// The access key and SMS channel the fake Bird expects.
const (
	BirdAccessKey = "fakegw-bird-access-key-0123456789"
	BirdWorkspace = "2d7f1d2a-1b1c-4a66-9d5b-0c7a1e2f3a4b"
	BirdChannel   = "8e0b6f3c-5d2e-4f7a-8b9c-1d2e3f4a5b6c"
)

// Bird (formerly MessageBird), both ways of sending an SMS it publishes:
//
// The Channels API, what Bird documents now (docs.bird.com/api/
// channels-api/api-reference/messaging, "Send a message";
// docs.bird.com/api/channels-api/supported-channels/programmable-sms/
// sending-sms-messages): POST /workspaces/{workspaceId}/channels/
// {channelId}/messages on api.bird.com with Authorization: AccessKey
// <key> and JSON {"receiver":{"contacts":[{"identifierKey":"phonenumber",
// "identifierValue":"+31612345678"}]},"body":{"type":"text","text":
// {"text"}}}; 202 "Message was accepted for processing" with the message,
// {"id","channelId","status":"accepted",…}. Errors: {"code","message"}.
//
// The legacy MessageBird REST API (developers.messagebird.com/api/
// sms-messaging, "Send outbound SMS", kept for existing accounts): POST
// /messages on rest.messagebird.com with the same AccessKey header and
// JSON {"originator","recipients":[31612345678],"body"}; 201 with the
// message {"id","href","direction":"mt","type":"sms",…,"recipients":
// {"totalCount",…,"items":[{"recipient","status":"sent"}]}}. Errors:
// {"errors":[{"code","description","parameter"}]}, e.g. 401 code 2
// "Request not allowed (incorrect access_key)", 422 code 9 "no (correct)
// recipients found".

var birdPath = regexp.MustCompile(`^/workspaces/([^/]+)/channels/([^/]+)/messages$`)

func birdLegacyError(w http.ResponseWriter, status, code int, desc, param string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"code": code, "description": desc, "parameter": param}}})
}

// BirdAccepted is the Channels API's answer to a message it took.
func BirdAccepted(id string) map[string]any {
	return map[string]any{"id": id, "channelId": BirdChannel, "status": "accepted", "direction": "outgoing",
		"createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"}
}

// BirdLegacySent is the legacy API's answer to a message it took.
func BirdLegacySent(id, originator string, recipient int64, body string) map[string]any {
	return map[string]any{"id": id, "href": "https://rest.messagebird.com/messages/" + id, "direction": "mt", "type": "sms",
		"originator": originator, "body": body, "datacoding": "plain", "mclass": 1,
		"recipients": map[string]any{"totalCount": 1, "totalSentCount": 1, "totalDeliveredCount": 0, "totalDeliveryFailedCount": 0,
			"items": []map[string]any{{"recipient": recipient, "status": "sent", "messagePartCount": 1}}}}
}

func (f *Gateways) bird(w http.ResponseWriter, r *http.Request, mode string) {
	if r.Header.Get("Authorization") != "AccessKey "+BirdAccessKey {
		writeJSON(w, 401, map[string]string{"code": "Unauthorized", "message": "invalid access key"})
		return
	}
	if m := birdPath.FindStringSubmatch(r.URL.Path); m[1] != BirdWorkspace || m[2] != BirdChannel {
		writeJSON(w, 404, map[string]string{"code": "NotFound", "message": "channel not found"})
		return
	}
	var b struct {
		Receiver struct {
			Contacts []struct {
				IdentifierKey   string `json:"identifierKey"`
				IdentifierValue string `json:"identifierValue"`
			} `json:"contacts"`
		} `json:"receiver"`
		Body struct {
			Type string `json:"type"`
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"body"`
	}
	ok := decodeJSON(r, &b)
	c := b.Receiver.Contacts
	if !ok || len(c) != 1 || !e164.MatchString(c[0].IdentifierValue) || (c[0].IdentifierKey != "" && c[0].IdentifierKey != "phonenumber") ||
		b.Body.Type != "text" || b.Body.Text.Text == "" {
		f.bad("Bird body %+v", b)
		writeJSON(w, 422, map[string]string{"code": "InvalidPayload", "message": "receiver is invalid"})
		return
	}
	if mode == "refuse" {
		writeJSON(w, 422, map[string]string{"code": "InvalidPayload", "message": "phonenumber " + c[0].IdentifierValue + " is not valid"})
		return
	}
	seq := f.deliver(c[0].IdentifierValue, b.Body.Text.Text)
	writeJSON(w, 202, BirdAccepted(fmt.Sprintf("a1405560-c8d3-4b1a-877d-%012x", seq)))
}

func (f *Gateways) birdLegacy(w http.ResponseWriter, r *http.Request, mode string) {
	if r.Header.Get("Authorization") != "AccessKey "+BirdAccessKey {
		birdLegacyError(w, 401, 2, "Request not allowed (incorrect access_key)", "access_key")
		return
	}
	var b struct {
		Originator string        `json:"originator"`
		Recipients []json.Number `json:"recipients"`
		Body       string        `json:"body"`
	}
	if !decodeJSON(r, &b) || len(b.Recipients) != 1 || !infobipTo.MatchString(b.Recipients[0].String()) || b.Originator == "" || b.Body == "" {
		f.bad("MessageBird body %+v", b)
		birdLegacyError(w, 422, 9, "no (correct) recipients found", "recipients")
		return
	}
	if mode == "refuse" {
		birdLegacyError(w, 422, 9, "no (correct) recipients found: "+b.Recipients[0].String(), "recipients")
		return
	}
	n, _ := b.Recipients[0].Int64()
	seq := f.deliver(b.Recipients[0].String(), b.Body)
	writeJSON(w, 201, BirdLegacySent(fmt.Sprintf("49e40bae0b374f1ca5e3d04d%08x", seq), b.Originator, n, b.Body))
}
