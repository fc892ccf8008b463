package fakegw

import (
	"encoding/base64"
	"testing"
)

func TestPlivo(t *testing.T) {
	testJSONFake(t, jsonFake{
		path:     "/v1/Account/" + PlivoAuthID + "/Message/",
		auth:     []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(PlivoAuthID+":"+PlivoAuthToken))},
		body:     `{"src":"+12015550100","dst":"+12015550123","text":"hello"}`,
		noTo:     `{"src":"+12015550100","text":"hello"}`,
		okStatus: 202, okHas: `"message":"message(s) queued"`,
		deniedHas: `"error":"Authentication failed"`, refusedHas: `is not a valid phone number`,
	})
}
