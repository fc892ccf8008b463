package caddyotp

import (
	"strings"
	"testing"
)

func TestFindHandlers(t *testing.T) {
	const cfg = `{"apps":{"http":{"servers":{"srv0":{"routes":[
		{"match":[{"host":["a.example.com"]}],"handle":[{"handler":"subroute","routes":[
			{"handle":[{"handler":"phone_otp","issuer":"a","sms":{"provider":"log"},"code_length":8}]}
		]}]},
		{"match":[{"path":["/x"]}],"handle":[{"handler":"phone_otp","sms":{"provider":"log"}}]},
		{"handle":[{"handler":"reverse_proxy"}]}
	]}}}}}`
	tests := []struct {
		issuer  string
		want    []string // issuer@host:code_length
		wantErr string
	}{
		{"", []string{"a@a.example.com:8", "phone_otp@localhost:6"}, ""},
		{"a", []string{"a@a.example.com:8"}, ""},
		{"b", nil, `no phone_otp handler with issuer "b"`},
	}
	for _, tt := range tests {
		found, err := findHandlers([]byte(cfg), tt.issuer)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("issuer %q: err %v, want %q", tt.issuer, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("issuer %q: %v", tt.issuer, err)
		}
		var got []string
		for _, f := range found {
			got = append(got, f.h.Issuer+"@"+f.host+":"+itoa(int64(f.h.CodeLength)))
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("issuer %q: found %q, want %q", tt.issuer, got, tt.want)
		}
	}

	for _, bad := range []string{`{`, `{"apps":{}}`} {
		if _, err := findHandlers([]byte(bad), ""); err == nil {
			t.Errorf("config %s: no error", bad)
		}
	}
}
