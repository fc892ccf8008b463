package caddyotp

import (
	"net/http"
	"reflect"
	"testing"
)

func TestStripOwnCookies(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string // nil: no Cookie header left
	}{
		{"own cookies removed, others kept",
			[]string{"other=1; otp_session=tok; otp_session_challenge=ch; otp_session_csrf=n; otp_sessionx=2"},
			[]string{"other=1; otp_sessionx=2"}},
		{"only own cookies", []string{"otp_session=tok"}, nil},
		{"only the session, quoted or empty or with blanks", []string{`otp_session="tok"`, "otp_session=", " otp_session=tok \t"}, nil},
		{"the session and another on one line", []string{"otp_session=tok;x=1"}, []string{"x=1"}},
		{"the session's name with more after it", []string{"otp_session2=tok"}, []string{"otp_session2=tok"}},
		{"only own cookies, all four", []string{"otp_session=a; otp_session_challenge=b; otp_session_csrf=c; otp_session_device=d"}, nil},
		{"no own cookies", []string{"a=1; b=2"}, []string{"a=1; b=2"}},
		{"name shared only as a prefix", []string{"otp_session_other=1; otp_sessions=2; otp_session_csrfx=3; otp_session_devices=4"},
			[]string{"otp_session_other=1; otp_sessions=2; otp_session_csrfx=3; otp_session_devices=4"}},
		{"name only in a value", []string{"a=otp_session; b=otp_session=x"}, []string{"a=otp_session; b=otp_session=x"}},
		{"name as a suffix", []string{"my_otp_session=1"}, []string{"my_otp_session=1"}},
		{"case differs", []string{"OTP_SESSION=1"}, []string{"OTP_SESSION=1"}},
		{"several lines (HTTP/2)", []string{"a=1", "otp_session=tok", "b=2; otp_session_csrf=n"}, []string{"a=1", "b=2"}},
		{"repeated own cookie", []string{"otp_session=a; x=1; otp_session=b"}, []string{"x=1"}},
		{"space around the name", []string{"x=1;  otp_session =tok ;y=2"}, []string{"x=1; y=2"}},
		{"no Cookie header", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{CookieName: "otp_session"}
			r, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
			if tt.in != nil {
				r.Header["Cookie"] = append([]string(nil), tt.in...)
			}
			h.stripOwnCookies(r)
			got, present := r.Header["Cookie"]
			if tt.want == nil {
				if present {
					t.Errorf("Cookie = %q, want none", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Cookie = %q, want %q", got, tt.want)
			}
			// Whatever is left, Go's parser must not find an own cookie in it.
			for _, c := range r.Cookies() {
				if h.ownCookie(c.Name) {
					t.Errorf("own cookie %q left", c.Name)
				}
			}
		})
	}
}

func TestCookieValue(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
		found bool
	}{
		{"alone", []string{"otp_session=tok"}, "tok", true},
		{"among others", []string{"a=1; otp_session=tok; b=2"}, "tok", true},
		{"quoted", []string{`otp_session="tok"`}, "tok", true},
		{"blanks around", []string{" \totp_session=tok \t; b=2"}, "tok", true},
		{"empty value", []string{"otp_session="}, "", true},
		{"the first of two", []string{"otp_session=a; otp_session=b"}, "a", true},
		{"on a later line (HTTP/2)", []string{"a=1", "otp_session=tok"}, "tok", true},
		{"longer name only", []string{"otp_session_csrf=n; otp_sessionx=2"}, "", false},
		{"name only in a value", []string{"a=otp_session"}, "", false},
		{"case differs", []string{"OTP_SESSION=tok"}, "", false},
		{"no cookies", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := cookieValue(tt.lines, "otp_session")
			if got != tt.want || found != tt.found {
				t.Errorf("cookieValue(%q) = %q, %v, want %q, %v", tt.lines, got, found, tt.want, tt.found)
			}
		})
	}
}
