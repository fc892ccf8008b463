package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyotp/caddyotp/internal/fakegw"
)

// cliProviders are the providers added in issue 17, each as a Caddyfile
// block for the fake gateways at url.
var cliProviders = []struct {
	name  string
	block func(url string) string
}{
	{"aws_sns", func(url string) string {
		return fmt.Sprintf("sms aws_sns {\n\t\t\tregion %s\n\t\t\taccess_key_id %s\n\t\t\tsecret_access_key {env.CLI_TEST_SECRET}\n\t\t\tendpoint %s\n\t\t}",
			fakegw.SNSRegion, fakegw.SNSAccessKey, url)
	}},
	{"telnyx", func(url string) string {
		return fmt.Sprintf("sms telnyx {\n\t\t\tapi_key %s\n\t\t\tfrom +12015550100\n\t\t\tendpoint %s\n\t\t}", fakegw.TelnyxKey, url)
	}},
	{"plivo", func(url string) string {
		return fmt.Sprintf("sms plivo {\n\t\t\tauth_id %s\n\t\t\tauth_token %s\n\t\t\tsrc +12015550100\n\t\t\tendpoint %s\n\t\t}", fakegw.PlivoAuthID, fakegw.PlivoAuthToken, url)
	}},
	{"sinch", func(url string) string {
		return fmt.Sprintf("sms sinch {\n\t\t\tservice_plan_id %s\n\t\t\tapi_token %s\n\t\t\tendpoint %s\n\t\t}", fakegw.SinchServicePlan, fakegw.SinchToken, url)
	}},
	{"infobip", func(url string) string {
		return fmt.Sprintf("sms infobip {\n\t\t\tapi_key %s\n\t\t\tbase_url %s\n\t\t}", fakegw.InfobipKey, url)
	}},
	{"messagebird", func(url string) string {
		return fmt.Sprintf("sms messagebird {\n\t\t\taccess_key %s\n\t\t\tworkspace_id %s\n\t\t\tchannel_id %s\n\t\t\tendpoint %s\n\t\t}", fakegw.BirdAccessKey, fakegw.BirdWorkspace, fakegw.BirdChannel, url)
	}},
	{"messagebird", func(url string) string {
		return fmt.Sprintf("sms messagebird {\n\t\t\taccess_key %s\n\t\t\tapi legacy\n\t\t\toriginator TestBrand\n\t\t\tendpoint %s\n\t\t}", fakegw.BirdAccessKey, url)
	}},
}

// TestPhoneOTPCommandProviders runs `caddy phone-otp send` with one site
// per provider, against the fake gateways: each takes the test message,
// then each reports the gateway's refusal.
func TestPhoneOTPCommandProviders(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Caddy binary")
	}
	bin := builtCaddy(t)
	gw := fakegw.NewGateways(t)
	dir := t.TempDir()
	var cf strings.Builder
	cf.WriteString("{\n\tadmin off\n}\n")
	for i, p := range cliProviders {
		fmt.Fprintf(&cf, "site%d.example.com {\n\tphone_otp {\n\t\t%s\n\t\tissuer %s\n\t}\n\trespond ok\n}\n", i, p.block(gw.URL()), p.name)
	}
	writeFile(t, filepath.Join(dir, "Caddyfile"), cf.String())

	run := func(secret string) (string, error) {
		cmd := exec.Command(bin, "phone-otp", "send", "--config", "Caddyfile", "--phone", "+12015550177")
		cmd.Dir = dir
		cmd.Env = append(cmd.Environ(), "CLI_TEST_SECRET="+secret, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	out, err := run(fakegw.SNSSecretKey)
	if err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	for i, p := range cliProviders {
		if want := fmt.Sprintf("site site%d.example.com): %s accepted the message to +1******0177", i, p.name); !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := gw.Sent("+12015550177"); n != len(cliProviders) {
		t.Errorf("%d messages delivered, want %d", n, len(cliProviders))
	}
	if m := fakegw.OriginBound.FindStringSubmatch(gw.LastText("+12015550177")); m == nil || strings.Contains(out, m[2]) {
		t.Errorf("the test SMS %q lacks its origin-bound line, or the output shows its code", gw.LastText("+12015550177"))
	}

	gw.Set("refuse")
	out, err = run(fakegw.SNSSecretKey)
	if err == nil {
		t.Errorf("refusals, yet success:\n%s", out)
	}
	for _, p := range cliProviders {
		if !strings.Contains(out, p.name+" refused: ") {
			t.Errorf("output lacks %s's refusal:\n%s", p.name, out)
		}
	}
	for _, bad := range []string{"2015550177", fakegw.SNSSecretKey} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q:\n%s", bad, out)
		}
	}
}
