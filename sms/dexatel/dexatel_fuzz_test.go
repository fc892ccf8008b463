package dexatel

import (
	"testing"

	"github.com/caddyotp/caddyotp/sms/caddysms/caddysmstest"
)

// dexatelAnswers are Dexatel's answers: verifications (a list or one
// object, ids as strings or numbers) and errors.
var dexatelAnswers = []string{
	`{"data":{"id":"v-1","account_id":"acc","message_id":"msg-7","phone":"12015550123","code":"987654","create_date":"2026-11-25 19:00:00","expire_date":"2999-11-25 19:05:00"}}`,
	`{"data":[{"id":7,"message_id":"m1","phone":"12015550123","code":"987654","expire_date":"2999-11-25 19:05:00"}]}`,
	`{"data":[{"message_id":"m1","phone":"+12015550123","code":"987654","expire_date":"2999-11-25T19:05:00Z"}]}`,
	`{"data":[{"message_id":"m1","phone":"12015550123","code":"987654","expire_date":"2000-01-01 00:00:00"}]}`,
	`{"data":[{"message_id":"m1","phone":"12015550123","code":"987654","expire_date":"soon"}]}`,
	`{"data":[{"id":null,"message_id":""}]}`,
	`{"data":[],"pagination":{"total":0}}`, `{"data":null}`, `{"data":"x"}`, `{"data":[`, `{}`, ``,
	`{"errors":[{"status":401,"message":"Unauthorized","code":"1001"}]}`,
	`{"errors":[{"code":1404,"message":"Not found 12015550123"}]}`,
}

// newDexatel is a provisioned dexatel provider, checking codes remotely
// or not, on a fuzzed gateway.
func newDexatel(f *testing.F, remote bool) (*Dexatel, *caddysmstest.Gateway) {
	p := &Dexatel{APIKey: "k", Sender: "MyBrand", Template: "tpl", Endpoint: "https://dexatel.fuzz.example"}
	if remote {
		p.CheckMode = "remote"
	}
	caddysmstest.ProvisionFuzz(f, p)
	g := new(caddysmstest.Gateway)
	p.client.HTTPClient = g.Client()
	return p, g
}

// FuzzDexatelAnswer: any answer of Dexatel to the creation of a
// verification, in local and in remote mode, with
// caddysmstest.CheckSend's properties; in remote mode the result has an
// id, and its Ref (what a check is bound to) is that id. (In local mode
// the id is for the log only, and a send without one stands.)
func FuzzDexatelAnswer(f *testing.F) {
	local, lg := newDexatel(f, false)
	remote, rg := newDexatel(f, true)
	caddysmstest.SeedAnswers(f, dexatelAnswers...)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		lg.Answer(status, body)
		res, err := local.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, lg, "dexatel", false, res, err)
		if res.Remote || res.Ref != "" {
			t.Fatalf("local send: %+v", res)
		}
		rg.Answer(status, body)
		res, err = remote.Send(caddysmstest.Ctx, caddysmstest.Message)
		caddysmstest.CheckSend(t, rg, "dexatel", true, res, err)
		if err == nil && res.Ref != res.ID {
			t.Fatalf("remote send: ref %q, id %q", res.Ref, res.ID)
		}
	})
}

// FuzzDexatelCheck: any answer of Dexatel to a remote check, with
// caddysmstest.CheckCheck's properties.
func FuzzDexatelCheck(f *testing.F) {
	p, g := newDexatel(f, true)
	caddysmstest.SeedAnswers(f, dexatelAnswers...)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		g.Answer(status, body)
		ok, err := p.Check(caddysmstest.Ctx, caddysmstest.FuzzPhone, caddysmstest.FuzzCode, "m1")
		caddysmstest.CheckCheck(t, g, "dexatel", ok, err)
	})
}
