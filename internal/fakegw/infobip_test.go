package fakegw

import "testing"

func TestInfobip(t *testing.T) {
	testJSONFake(t, jsonFake{
		path: "/sms/3/messages", auth: []string{"Authorization", "App " + InfobipKey},
		body:     `{"messages":[{"sender":"InfoSMS","destinations":[{"to":"12015550123"}],"content":{"text":"hello"}}]}`,
		noTo:     `{"messages":[{"sender":"InfoSMS","destinations":[],"content":{"text":"hello"}}]}`,
		okStatus: 200, okHas: `"groupName":"PENDING"`,
		deniedHas: `"messageId":"UNAUTHORIZED"`, refusedHas: `"messageId":"BAD_REQUEST"`,
	})
}
