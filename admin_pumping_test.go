package caddyotp

import (
	"errors"
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

func TestCheckAdminPause(t *testing.T) {
	for _, tt := range []struct {
		req adminRequest
		ok  bool
	}{
		{adminRequest{Scope: "prefix", Key: "+44740012"}, true},
		{adminRequest{Scope: "country", Key: "GB"}, true},
		{adminRequest{Scope: "prefix", Key: "44740012"}, false},
		{adminRequest{Scope: "country", Key: "gb"}, false},
		{adminRequest{Scope: "", Key: "GB"}, false},
		{adminRequest{Scope: "prefix", Key: "+44740012", Phone: "+447400123456"}, false},
	} {
		err := checkAdminPause(&tt.req)
		var api caddy.APIError
		if (err == nil) != tt.ok || (err != nil && (!errors.As(err, &api) || api.HTTPStatus != http.StatusBadRequest)) {
			t.Errorf("%+v: %v", tt.req, err)
		}
	}
	// A phone body is not a pause, nor a pause body a phone.
	if checkAdminPhone(&adminRequest{Phone: "+447400123456", Scope: "prefix"}) == nil {
		t.Error("a phone body with a scope was taken")
	}
}

func TestMaskKey(t *testing.T) {
	if got := maskKey("prefix", "+44740012"); got != "+447400**" {
		t.Errorf("prefix masked as %q", got)
	}
	if got := maskKey("country", "GB"); got != "GB" {
		t.Errorf("country masked as %q", got)
	}
}
