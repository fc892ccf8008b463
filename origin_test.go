package caddyotp

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestSMSHost(t *testing.T) {
	tests := []struct {
		name      string
		origin    string
		siteHosts []string
		host      string
		want      string // "" refused
	}{
		{"origin wins over any Host", "app.example.com", nil, "evil.test", "app.example.com"},
		{"catch-all without origin", "", nil, "evil.test", ""},
		{"a site host, as configured", "", []string{"a.example.com", "b.example.com"}, "B.Example.COM.:8443", "b.example.com"},
		{"not a site host", "", []string{"a.example.com"}, "evil.test", ""},
		{"a wildcard's label", "", []string{"*.example.com"}, "shop.example.com", "shop.example.com"},
		{"a wildcard takes one label only", "", []string{"*.example.com"}, "a.b.example.com", ""},
		{"a wildcard takes DNS characters only", "", []string{"*.example.com"}, "x!y.example.com", ""},
		{"an IP site", "", []string{"192.0.2.7"}, "192.0.2.7:8080", "192.0.2.7"},
		{"an IPv6 site", "", []string{"::1"}, "[::1]:8080", "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Origin: tt.origin, SiteHosts: tt.siteHosts}
			r := httptest.NewRequest("POST", "/_otp/send", nil)
			r.Host = tt.host
			got, ok := h.smsHost(r)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("smsHost(%q) = %q, %v; want %q", tt.host, got, ok, tt.want)
			}
		})
	}
}

func TestCaddyfileOrigin(t *testing.T) {
	for _, tt := range []struct{ in, wantErr string }{
		{"origin app.example.com", ""},
		{"origin {env.SITE}", ""},
		{"origin https://app.example.com", "origin"},
		{"origin app.example.com:443", "origin"},
		{"origin *.example.com", "origin"},
		{"origin", "origin"},
		{"origin a.example.com\n\t\torigin b.example.com", "already specified"},
	} {
		h := new(Handler)
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("phone_otp {\n\t\tsms log\n\t\t" + tt.in + "\n\t}"))
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "Testfile:")) {
			t.Errorf("%q: error %v, want one naming %q and the line", tt.in, err, tt.wantErr)
		}
	}
}

func TestProvisionOrigin(t *testing.T) {
	t.Setenv("OTP_SITE", "App.Example.COM")
	h, err := provisionJSON(t, `{"sms":{"provider":"log"},"secret":"`+longSecret+`","origin":"{env.OTP_SITE}"}`)
	if err != nil || h.Origin != "app.example.com" {
		t.Fatalf("origin from a placeholder: %q, %v", h.Origin, err)
	}
	for _, cfg := range []string{`"origin":"app.example.com/x"`, `"site_hosts":["a b"]`, `"origin":"{env.OTP_UNSET_SITE}"`} {
		if _, err := provisionJSON(t, `{"sms":{"provider":"log"},"secret":"`+longSecret+`",`+cfg+`}`); err == nil {
			t.Errorf("%s: no error", cfg)
		}
	}
}

// TestCaddyfileSiteHosts: the adapter gives phone_otp its site's names,
// and none for a site that takes every host.
func TestCaddyfileSiteHosts(t *testing.T) {
	for _, tt := range []struct{ addrs, want string }{
		{"app.example.com, https://*.example.net:8443", `"site_hosts":["app.example.com","*.example.net"]`},
		{"App.Example.com", `"site_hosts":["app.example.com"]`},
		{":8080", ""},
		{"app.example.com, http://", ""},
	} {
		out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(tt.addrs+" {\n\tphone_otp {\n\t\tsms log\n\t}\n}\n"), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.addrs, err)
		}
		if got := strings.Contains(string(out), `"site_hosts"`); got != (tt.want != "") || !strings.Contains(string(out), tt.want) {
			t.Errorf("%s: adapted to %s, want %s", tt.addrs, out, tt.want)
		}
	}
}
