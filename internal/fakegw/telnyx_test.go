package fakegw

import "testing"

func TestTelnyx(t *testing.T) {
	testJSONFake(t, jsonFake{
		path: "/v2/messages", auth: []string{"Authorization", "Bearer " + TelnyxKey},
		body:     `{"from":"+12015550100","to":"+12015550123","text":"hello"}`,
		noTo:     `{"from":"+12015550100","text":"hello"}`,
		okStatus: 200, okHas: `"record_type":"message"`,
		deniedHas: `"code":"10009"`, refusedHas: `"code":"40310"`,
	})
}
