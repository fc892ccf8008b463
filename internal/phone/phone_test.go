package phone

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
			got, err := Parse(tt.input, tt.region)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Parse(%q, %q) = %q, want rejected", tt.input, tt.region, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q, %q) = %q, %v; want %q", tt.input, tt.region, got, err, tt.want)
			}
		})
	}
}

func TestParseE164(t *testing.T) {
	for _, ok := range []string{"+12015550123", "+4915123456789", "+447400123456"} {
		if got, err := ParseE164(ok); err != nil || got != ok {
			t.Errorf("ParseE164(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{
		"12015550123", "2015550123", "+1 201 555 0123", "+1-201-555-0123", "+1(201)5550123",
		" +12015550123", "+12015550123 ", "+1.201.555.0123", "+4407400123456", "", "+",
		"+1 000 000 0000", "+12015550123#",
	} {
		if got, err := ParseE164(bad); err == nil {
			t.Errorf("ParseE164(%q) = %q, want rejected", bad, got)
		} else if bad != "" && !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseE164(%q) error %q does not name the input", bad, err)
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
		policy Policy
		want   map[string]bool
	}{
		{"open", Policy{}, map[string]bool{us: true, us2: true, de: true, gb: true}},
		{"allow only", Policy{Allow: set(us, de)}, map[string]bool{us: true, us2: false, de: true, gb: false}},
		{"countries only", Policy{Countries: set("US", "GB")}, map[string]bool{us: true, us2: true, de: false, gb: true}},
		{"allow AND countries", Policy{Allow: set(us, de), Countries: set("US")}, map[string]bool{us: true, us2: false, de: false, gb: false}},
		{"empty allowlist admits nobody", Policy{Allow: set()}, map[string]bool{us: false, de: false}},
		{"empty countries admit nobody", Policy{Countries: set()}, map[string]bool{us: false, gb: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for phone, want := range tt.want {
				if got := tt.policy.Permits(phone); got != want {
					t.Errorf("Permits(%s) = %v, want %v", phone, got, want)
				}
			}
		})
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
	got, err := ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+12015550123", "+4915123456789", "+447400123456"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadFile = %q, want %q", got, want)
	}

	if got, err := ReadFile(write("empty.txt", "")); err != nil || len(got) != 0 {
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
			_, err := ReadFile(p)
			if err == nil {
				t.Fatal("no error")
			}
			if at := fmt.Sprintf("%s:%d:", p, tt.line); !strings.Contains(err.Error(), at) {
				t.Errorf("error %q does not name %q", err, at)
			}
		})
	}

	if _, err := ReadFile(filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestReadUsersFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]string
		wantErr string // substring, with the file's base name and line
	}{
		{"users and comments", "# team\nalice +12015550123\n\n  carol\t+4915123456789  # mobile\n", map[string]string{"alice": "+12015550123", "carol": "+4915123456789"}, ""},
		{"empty", "# nobody yet\n", map[string]string{}, ""},
		{"not E.164", "alice +12015550123\nbob 2015550124\n", nil, "users.txt:2"},
		{"no phone", "alice\n", nil, "users.txt:1"},
		{"three fields", "alice +12015550123 extra\n", nil, "users.txt:1"},
		{"listed twice", "alice +12015550123\nalice +12015550124\n", nil, "users.txt:2: user \"alice\" is listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.txt")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadUsersFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for u, p := range tt.want {
				if got[u] != p {
					t.Errorf("%s: %q, want %q", u, got[u], p)
				}
			}
		})
	}
}
