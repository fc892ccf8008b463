package caddyotp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestPumpingCaddyfile(t *testing.T) {
	input := `phone_otp {
		withhold_types premium_rate voip
		limit_prefix off
		breaker_sends 50
		breaker_verified 35%
		breaker_window 2h
		pause_for 24h
		pumping monitor
		trust_verified 30d
	}`
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	want := PumpingOptions{
		WithholdTypes: []string{"premium_rate", "voip"}, LimitPrefix: -1, BreakerSends: 50, BreakerVerified: 35,
		BreakerWindow: caddy.Duration(2 * time.Hour), PauseFor: caddy.Duration(24 * time.Hour),
		Mode: "monitor", TrustVerified: caddy.Duration(30 * 24 * time.Hour),
	}
	if !reflect.DeepEqual(h.PumpingOptions, want) {
		t.Errorf("got %+v, want %+v", h.PumpingOptions, want)
	}
	// The embedded options sit beside the others in JSON.
	raw, _ := json.Marshal(h)
	for _, k := range []string{`"withhold_types":["premium_rate","voip"]`, `"limit_prefix":-1`, `"breaker_sends":50`, `"breaker_verified":35`, `"pumping":"monitor"`} {
		if !strings.Contains(string(raw), k) {
			t.Errorf("JSON %s lacks %s", raw, k)
		}
	}
	var back Handler
	if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(back.PumpingOptions, want) {
		t.Errorf("JSON round trip: %+v, %v", back.PumpingOptions, err)
	}

	var off Handler
	if err := off.UnmarshalCaddyfile(caddyfile.NewTestDispenser("phone_otp {\n\tbreaker_sends off\n\tlimit_prefix 3\n\twithhold_types none\n\ttrust_verified off\n\tpumping enforce\n}")); err != nil {
		t.Fatal(err)
	}
	if off.BreakerSends != -1 || off.LimitPrefix != 3 || !reflect.DeepEqual(off.WithholdTypes, []string{"none"}) ||
		off.TrustVerified != -1 || off.Mode != "enforce" {
		t.Errorf("off: %+v", off.PumpingOptions)
	}
}

func TestPumpingCaddyfileErrors(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{"withhold_types premium", "premium"},
		{"withhold_types mobile", "mobile"},
		{"withhold_types none voip", "none"},
		{"withhold_types", "withhold_types"},
		{"limit_prefix 0", "limit_prefix"},
		{"limit_prefix no", "limit_prefix"},
		{"limit_prefix off 3", "limit_prefix"},
		{"breaker_sends -1", "breaker_sends"},
		{"breaker_verified 0", "breaker_verified"},
		{"breaker_verified 101%", "breaker_verified"},
		{"breaker_verified half", "breaker_verified"},
		{"breaker_verified", "breaker_verified"},
		{"breaker_window 30s", "breaker_window"},
		{"breaker_window 48h", "breaker_window"},
		{"pause_for 10s", "pause_for"},
		{"limit_prefix 5\nlimit_prefix 6", "already specified"},
		{"pumping watch", "pumping"},
		{"pumping", "pumping"},
		{"pumping monitor enforce", "pumping"},
		{"trust_verified 30m", "trust_verified"},
		{"trust_verified soon", "trust_verified"},
		{"trust_verified", "trust_verified"},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("phone_otp {\n" + tt.body + "\n}"))
		line := fmt.Sprintf("Testfile:%d", 2+strings.Count(tt.body, "\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), line) {
			t.Errorf("%q: error %v, want one naming %q at %s", tt.body, err, tt.want, line)
		}
	}
}

func TestPumpingDefaultsAndValidate(t *testing.T) {
	h, err := provisionJSON(t, `{"sms":{"provider":"log"},"secret":"`+longSecret+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	g := h.flow.Pumping
	if g == nil || g.LimitPrefix != 10 || g.MinSends != 20 || g.MinVerified != 20 || g.Window != time.Hour || g.PauseFor != 12*time.Hour ||
		g.Trust != 90*24*time.Hour || g.Monitor {
		t.Fatalf("default guard %+v", g)
	}
	for _, typ := range defaultWithholdTypes {
		if !g.Withhold[typ] {
			t.Errorf("%s is not withheld by default", typ)
		}
	}
	if g.Withhold["voip"] || len(g.Withhold) != 7 {
		t.Errorf("withheld by default: %v", g.Withhold)
	}

	h, err = provisionJSON(t, `{"sms":{"provider":"log"},"secret":"`+longSecret+`","withhold_types":["none"],"limit_prefix":-1,"breaker_sends":-1,"trust_verified":-1,"pumping":"monitor","allow":["+449012345678"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if g := h.flow.Pumping; len(g.Withhold) != 0 || g.LimitPrefix != 0 || g.MinSends != 0 || g.Trust != 0 || !g.Monitor ||
		!g.Bypass("+449012345678") || g.Bypass("+447400123456") {
		t.Errorf("guard off: %+v", g)
	}

	// users_file's phones are listed by the site too.
	users := filepath.Join(t.TempDir(), "users.txt")
	if err := os.WriteFile(users, []byte("alice +449012345678\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err = provisionJSON(t, `{"sms":{"provider":"log"},"secret":"`+longSecret+`","users_file":"`+users+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	if g := h.flow.Pumping; !g.Bypass("+449012345678") || g.Bypass("+449012345679") {
		t.Error("a users_file phone does not bypass the guard, or another number does")
	}

	for _, tt := range []struct{ cfg, want string }{
		{`"withhold_types":["mobile"]`, "withhold_types"},
		{`"limit_prefix":-2`, "limit_prefix"},
		{`"breaker_sends":-3`, "breaker_sends"},
		{`"breaker_verified":150`, "breaker_verified"},
		{`"breaker_window":1000000000`, "breaker_window"},
		{`"pause_for":1000000000`, "pause_for"},
		{`"trust_verified":1000000000`, "trust_verified"},
		{`"pumping":"watch"`, "pumping"},
	} {
		_, err := provisionJSON(t, `{"sms":{"provider":"log"},"secret":"`+longSecret+`",`+tt.cfg+`}`)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v", tt.cfg, err)
		}
	}
}
