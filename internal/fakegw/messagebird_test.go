package fakegw

import "testing"

func TestBird(t *testing.T) {
	testJSONFake(t, jsonFake{
		path: "/workspaces/" + BirdWorkspace + "/channels/" + BirdChannel + "/messages", auth: []string{"Authorization", "AccessKey " + BirdAccessKey},
		body:     `{"receiver":{"contacts":[{"identifierKey":"phonenumber","identifierValue":"+12015550123"}]},"body":{"type":"text","text":{"text":"hello"}}}`,
		noTo:     `{"receiver":{"contacts":[]},"body":{"type":"text","text":{"text":"hello"}}}`,
		okStatus: 202, okHas: `"status":"accepted"`,
		deniedHas: `"code":"Unauthorized"`, refusedHas: `"code":"InvalidPayload"`,
	})
}

func TestBirdLegacy(t *testing.T) {
	testJSONFake(t, jsonFake{
		path: "/messages", auth: []string{"Authorization", "AccessKey " + BirdAccessKey},
		body:     `{"originator":"MyBrand","recipients":[12015550123],"body":"hello"}`,
		noTo:     `{"originator":"MyBrand","recipients":[],"body":"hello"}`,
		okStatus: 201, okHas: `"direction":"mt"`,
		deniedHas: `"code":2`, refusedHas: `"code":9`,
	})
}
