package caddyotp

import "testing"

func TestRenderMessageDefault(t *testing.T) {
	h, err := provisionJSON(t, `{"sms":{"provider":"log"},"secret":"`+longSecret+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.renderMessage("123456", "example.com"); got != "123456 is your verification code for example.com.\n\n@example.com #123456" {
		t.Errorf("default message = %q", got)
	}
}
