package fakegw

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDexatelChannels: the fake takes each channel Dexatel's Verify API
// lists with a template made for it, and refuses, as Dexatel does, an
// unknown channel (1515) or a template of another channel (1628).
func TestDexatelChannels(t *testing.T) {
	body := func(channel, template string) string {
		return `{"data":{"sender":"` + DexatelSender + `","phone":"12015550123","template":"` + template + `","channel":"` + channel + `","code":"123456"}}`
	}
	f := NewDexatel(t)
	for _, tt := range []struct{ channel, template string }{
		{"SMS", DexatelTemplate}, {"VOICE", DexatelVoiceTemplate}, {"VIBER", "tpl-viber"}, {"WHATSAPP", "tpl-whatsapp"},
	} {
		if st, b := call(t, "POST", f.URL()+"/v1/verifications", "application/json", body(tt.channel, tt.template), "X-Dexatel-Key", DexatelKey); st != 201 {
			t.Errorf("%s: %d %s", tt.channel, st, b)
		}
	}
	if got := strings.Join(f.Channels("+12015550123"), " "); got != "SMS VOICE VIBER WHATSAPP" {
		t.Errorf("channels %q", got)
	}
	for _, tt := range []struct {
		name, body, want string
	}{
		{"unknown channel", body("PIGEON", DexatelTemplate), `"code":1515`},
		{"lower case", body("voice", DexatelVoiceTemplate), `"code":1515`},
		{"SMS template for a call", body("VOICE", DexatelTemplate), `"code":1628`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			f := NewDexatel(r)
			st, b := call(t, "POST", f.URL()+"/v1/verifications", "application/json", tt.body, "X-Dexatel-Key", DexatelKey)
			if st != 400 || !strings.Contains(b, tt.want) {
				t.Errorf("%d %s, want 400 with %s", st, b, tt.want)
			}
			r.end()
			if len(r.errs) != 1 {
				t.Errorf("errors %q, want the bad request reported", r.errs)
			}
		})
	}
}

// TestTwilioVerifyChannels: Verify starts on sms, call and whatsapp, says
// the channel back, and refuses an unknown one with 60200.
func TestTwilioVerifyChannels(t *testing.T) {
	start := func(t *testing.T, f *Gateways, channel string) (int, string) {
		req, _ := http.NewRequest("POST", f.URL()+"/v2/Services/"+TwilioService+"/Verifications",
			strings.NewReader(url.Values{"To": {"+12015550123"}, "Channel": {channel}}.Encode()))
		req.SetBasicAuth(TwilioAccount, TwilioToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "caddy-phone-otp/test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	f := NewGateways(t)
	for _, ch := range []string{"sms", "call", "whatsapp"} {
		if st, b := start(t, f, ch); st != 201 || !strings.Contains(b, `"channel":"`+ch+`"`) {
			t.Errorf("%s: %d %s", ch, st, b)
		}
	}
	if got := strings.Join(f.VerifyChannels("+12015550123"), " "); got != "sms call whatsapp" {
		t.Errorf("channels %q", got)
	}
	r := &recorder{TB: t}
	g := NewGateways(r)
	if st, b := start(t, g, "fax"); st != 400 || !strings.Contains(b, `"code":60200`) {
		t.Errorf("fax: %d %s", st, b)
	}
	r.end()
	if len(r.errs) != 1 {
		t.Errorf("errors %q, want the bad request reported", r.errs)
	}
}
