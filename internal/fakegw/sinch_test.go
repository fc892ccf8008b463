package fakegw

import "testing"

func TestSinch(t *testing.T) {
	testJSONFake(t, jsonFake{
		path: "/xms/v1/" + SinchServicePlan + "/batches", auth: []string{"Authorization", "Bearer " + SinchToken},
		body:     `{"from":"+12015550100","to":["+12015550123"],"body":"hello"}`,
		noTo:     `{"from":"+12015550100","to":[],"body":"hello"}`,
		okStatus: 201, okHas: `"type":"mt_text"`,
		deniedHas: `"code":"unauthorized"`, refusedHas: `"code":"syntax_invalid_parameter_format"`,
	})
}
