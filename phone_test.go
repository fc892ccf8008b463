package caddyotp

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParsePhone(t *testing.T) {
	tests := []struct {
		name, input, region string
		want                string // "" means rejected
	}{
		{"E.164", "+12015550123", "", "+12015550123"},
		{"E.164, region ignored", "+4915123456789", "US", "+4915123456789"},
		{"spaces", "+1 201 555 0123", "", "+12015550123"},
		{"dashes", "+1-201-555-0123", "", "+12015550123"},
		{"dots", "+1.201.555.0123", "", "+12015550123"},
		{"parentheses", "+1 (201) 555-0123", "", "+12015550123"},
		{"surrounding space", "  +12015550123 \t", "", "+12015550123"},
		{"UK mobile", "+44 7400 123456", "", "+447400123456"},
		{"national with region", "(201) 555-0123", "US", "+12015550123"},
		{"national with trunk prefix", "07400 123456", "GB", "+447400123456"},
		{"national without region", "2015550123", "", ""},
		{"national without area code", "555-0123", "US", ""},
		{"national read in the given region", "2015550123", "DE", "+492015550123"},
		{"letters", "+1 201 FLOWERS", "", ""},
		{"letters, national", "201-555-CODE", "US", ""},
		{"fullwidth digits", "+１２０１５５５０１２３", "", ""},
		{"Arabic-Indic digits", "+١٢٠١٥٥٥٠١٢٣", "", ""},
		{"NUL", "+1201555\x000123", "", ""},
		{"5000 digits", "+" + strings.Repeat("1", 5000), "", ""},
		{"33 characters", "+1 201 555 0123" + strings.Repeat(" ", 18), "", "+12015550123"}, // trimmed first
		{"long but padded inside", "+1 201 555 0123" + strings.Repeat("-", 18), "", ""},
		{"empty", "", "", ""},
		{"space only", "   ", "US", ""},
		{"plus only", "+", "", ""},
		{"double plus", "++12015550123", "", ""},
		{"plus inside", "+1201+5550123", "", ""},
		{"invalid number", "+1 000 000 0000", "", ""},
		{"too short", "+1201", "", ""},
		{"too long", "+120155501234567", "", ""},
		{"unassigned country code", "+999 123 456 789", "", ""},
		{"extension", "+12015550123;ext=1", "", ""},
		{"extension word", "+12015550123 ext 1", "", ""},
		{"tel URI", "tel:+12015550123", "", ""},
		{"slash", "+1/201/555/0123", "", ""},
		{"newline", "+1201555\n0123", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePhone(tt.input, tt.region)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("parsePhone(%q, %q) = %q, want rejected", tt.input, tt.region, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parsePhone(%q, %q) = %q, %v; want %q", tt.input, tt.region, got, err, tt.want)
			}
		})
	}
}

func TestParseE164(t *testing.T) {
	for _, ok := range []string{"+12015550123", "+4915123456789", "+447400123456"} {
		if got, err := parseE164(ok); err != nil || got != ok {
			t.Errorf("parseE164(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{
		"12015550123", "2015550123", "+1 201 555 0123", "+1-201-555-0123", "+1(201)5550123",
		" +12015550123", "+12015550123 ", "+1.201.555.0123", "+4407400123456", "", "+",
		"+1 000 000 0000", "+12015550123#",
	} {
		if got, err := parseE164(bad); err == nil {
			t.Errorf("parseE164(%q) = %q, want rejected", bad, got)
		} else if bad != "" && !strings.Contains(err.Error(), bad) {
			t.Errorf("parseE164(%q) error %q does not name the input", bad, err)
		}
	}
}

func TestPhonePolicy(t *testing.T) {
	set := func(items ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, s := range items {
			m[s] = struct{}{}
		}
		return m
	}
	const us, us2, de, gb = "+12015550123", "+12015550124", "+4915123456789", "+447400123456"
	tests := []struct {
		name   string
		policy phonePolicy
		want   map[string]bool
	}{
		{"open", phonePolicy{}, map[string]bool{us: true, us2: true, de: true, gb: true}},
		{"allow only", phonePolicy{allow: set(us, de)}, map[string]bool{us: true, us2: false, de: true, gb: false}},
		{"countries only", phonePolicy{countries: set("US", "GB")}, map[string]bool{us: true, us2: true, de: false, gb: true}},
		{"allow AND countries", phonePolicy{allow: set(us, de), countries: set("US")}, map[string]bool{us: true, us2: false, de: false, gb: false}},
		{"empty allowlist admits nobody", phonePolicy{allow: set()}, map[string]bool{us: false, de: false}},
		{"empty countries admit nobody", phonePolicy{countries: set()}, map[string]bool{us: false, gb: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for phone, want := range tt.want {
				if got := tt.policy.permits(phone); got != want {
					t.Errorf("permits(%s) = %v, want %v", phone, got, want)
				}
			}
		})
	}
}

func TestHandlerPhonePolicy(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("# nobody yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(list, []byte("+4915123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	h := Handler{AllowFile: empty}
	p, err := h.phonePolicy()
	if err != nil {
		t.Fatal(err)
	}
	if p.permits("+12015550123") {
		t.Error("an empty allow_file admits a phone")
	}

	h = Handler{Allow: []string{"+12015550123"}, AllowFile: list, Countries: []string{"US", "DE"}}
	p, err = h.phonePolicy()
	if err != nil {
		t.Fatal(err)
	}
	for phone, want := range map[string]bool{"+12015550123": true, "+4915123456789": true, "+447400123456": false, "+12015550124": false} {
		if got := p.permits(phone); got != want {
			t.Errorf("permits(%s) = %v, want %v", phone, got, want)
		}
	}
	if len(h.Allow) != 1 {
		t.Errorf("phonePolicy changed h.Allow to %v", h.Allow)
	}
}

func TestReadPhoneFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	good := write("good.txt", "# the team\n\n+12015550123\n   +4915123456789   # Berlin office\r\n\t\n# +447400123456 left\n+447400123456\n")
	got, err := readPhoneFile(good)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+12015550123", "+4915123456789", "+447400123456"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readPhoneFile = %q, want %q", got, want)
	}

	if got, err := readPhoneFile(write("empty.txt", "")); err != nil || len(got) != 0 {
		t.Errorf("empty file = %q, %v", got, err)
	}

	bad := []struct {
		name, text string
		line       int
	}{
		{"national number", "+12015550123\n2015550123\n", 2},
		{"spaced number", "# ok\n\n+1 201 555 0123\n", 3},
		{"two on a line", "+12015550123 +4915123456789\n", 1},
		{"garbage after comments", "# a\n# b\n# c\nhello\n", 4},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tt.name, " ", "_")+".txt", tt.text)
			_, err := readPhoneFile(p)
			if err == nil {
				t.Fatal("no error")
			}
			if at := fmt.Sprintf("%s:%d:", p, tt.line); !strings.Contains(err.Error(), at) {
				t.Errorf("error %q does not name %q", err, at)
			}
		})
	}

	if _, err := readPhoneFile(filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestSafeReturn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a?b=c", "/a?b=c"},
		{"/", "/"},
		{"/app/page#top", "/app/page#top"},
		{"/a/b/../c", "/a/b/../c"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"},
		{"/" + strings.Repeat("a", maxReturn-1), "/" + strings.Repeat("a", maxReturn-1)},
		{"//evil.example", "/"},
		{"//evil.example/path", "/"},
		{"/\\evil.example", "/"},
		{"/a\\b", "/"},
		{"https://evil.example", "/"},
		{"http:/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"javascript:x", "/"},
		{"data:text/html,x", "/"},
		{"", "/"},
		{"relative", "/"},
		{"relative/path", "/"},
		{"?q=1", "/"},
		{"#frag", "/"},
		{" /leading-space", "/"},
		{"/a\r\nSet-Cookie: x=1", "/"},
		{"/a\nb", "/"},
		{"/a\rb", "/"},
		{"/a\tb", "/"},
		{"/\t/evil.example", "/"},
		{"/a\x00b", "/"},
		{"/a\x7fb", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
		{"/" + strings.Repeat("a", maxReturn), "/"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		if got := safeReturn(tt.in); got != tt.want {
			t.Errorf("safeReturn(%q) = %q, want %q", name, got, tt.want)
		}
	}
}

func TestSameHeaderName(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"X-Verified-Phone", "X-Verified-Phone", true},
		{"x-verified-phone", "X-Verified-Phone", true},
		{"X_Verified_Phone", "X-Verified-Phone", true},
		{"x_VERIFIED-phone", "X-Verified-Phone", true},
		{"X-Verified-Phones", "X-Verified-Phone", false},
		{"X-Verified-Phon", "X-Verified-Phone", false},
		{"X-Verified.Phone", "X-Verified-Phone", true},
		{"X-Verified Phone", "X-Verified-Phone", false},
		{"", "X-Verified-Phone", false},
	}
	for _, tt := range tests {
		if got := sameHeaderName(tt.a, tt.b); got != tt.want {
			t.Errorf("sameHeaderName(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestStripIdentityHeader(t *testing.T) {
	for _, configured := range []string{"X-Verified-Phone", "x_verified_phone"} {
		t.Run(configured, func(t *testing.T) {
			h := &Handler{Header: configured}
			r, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
			// Set directly: Header.Set would canonicalise the odd keys.
			r.Header = http.Header{
				"X-Verified-Phone":       {"+15550000001"},
				"x-verified-phone":       {"+15550000002"},
				"X_Verified_Phone":       {"+15550000003"},
				"x_verified_phone":       {"+15550000004"},
				"X-VERIFIED-PHONE":       {"+15550000005"},
				"X-Verified-Phone-Extra": {"keep"},
				"X-Verified-Phones":      {"keep"},
				"X-Forwarded-For":        {"keep"},
				"Cookie":                 {"keep"},
			}
			h.stripIdentityHeader(r)
			var left []string
			for k := range r.Header {
				left = append(left, k)
			}
			slices.Sort(left)
			want := []string{"Cookie", "X-Forwarded-For", "X-Verified-Phone-Extra", "X-Verified-Phones"}
			if !reflect.DeepEqual(left, want) {
				t.Errorf("headers left = %q, want %q", left, want)
			}
		})
	}
}

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
