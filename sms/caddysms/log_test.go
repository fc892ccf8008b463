package caddysms

import (
	"context"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyotp/caddyotp/sms"
)

func TestLogSend(t *testing.T) {
	var l Log
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := l.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	l.logger = zap.New(core)

	m := sms.Message{Phone: "+12015550123", Code: "482913", CodeLength: 6, Host: "example.com",
		Text: "482913 is your verification code for example.com.\n\n@example.com #482913"}
	res, err := l.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.ID == "" {
		t.Error("empty id")
	}
	entries := logs.All()
	if len(entries) != 1 || entries[0].Level != zapcore.WarnLevel {
		t.Fatalf("log entries = %+v", entries)
	}
	f := entries[0].ContextMap()
	if f["code"] != m.Code || f["text"] != m.Text || f["phone"] != "+1******0123" || f["id"] != res.ID {
		t.Errorf("fields = %v", f)
	}
	if res2, _ := l.Send(context.Background(), m); res2.ID == res.ID {
		t.Error("ids repeat")
	}
}

func TestLogUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
	}{
		{name: "bare", input: "log"},
		{name: "empty block", input: "log {\n}"},
		{name: "timeout", input: "log {\n timeout 5s\n}"},
		{name: "unknown", input: "log {\n bogus\n}", wantErr: "Testfile:2"},
		{name: "argument", input: "log now", wantErr: "Testfile:1"},
		{name: "bad timeout", input: "log {\n timeout x\n}", wantErr: "Testfile:2"},
		{name: "duplicate timeout", input: "log {\n timeout 1s\n timeout 2s\n}", wantErr: "already specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Log
			err := l.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestLogCanCallAndOffersCall(t *testing.T) {
	for _, tt := range []struct {
		p           sms.Provider
		can, offers bool
	}{
		{&Log{}, true, true},
	} {
		if got := sms.CanCall(tt.p); got != tt.can {
			t.Errorf("CanCall(%T %+v) = %v, want %v", tt.p, tt.p, got, tt.can)
		}
		if got := sms.OffersCall(tt.p); got != tt.offers {
			t.Errorf("OffersCall(%T %+v) = %v, want %v", tt.p, tt.p, got, tt.offers)
		}
	}
}
