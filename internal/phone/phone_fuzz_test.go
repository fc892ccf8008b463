package phone

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The fuzz targets of the phone package: what a visitor types (with the
// `country` field), and what a config lists (allow, allow_file,
// users_file, countries). Each checks properties, not only that nothing
// panics: an accepted number is E.164 that re-validates and parses to
// itself, and a file's numbers read back the same once written out.

// phoneSeeds are the inputs of TestParsePhone and a few more shapes.
var phoneSeeds = []struct{ input, region string }{
	{"+12015550123", ""}, {"+4915123456789", "US"}, {"+1 201 555 0123", ""},
	{"+1-201-555-0123", ""}, {"+1.201.555.0123", ""}, {"+1 (201) 555-0123", ""},
	{"  +12015550123 \t", ""}, {"+44 7400 123456", ""}, {"(201) 555-0123", "US"},
	{"07400 123456", "GB"}, {"2015550123", ""}, {"555-0123", "US"},
	{"2015550123", "DE"}, {"+1 201 FLOWERS", ""}, {"201-555-CODE", "US"},
	{"+１２０１５５５０１２３", ""}, {"+١٢٠١٥٥٥٠١٢٣", ""}, {"+1201555\x000123", ""},
	{"+1 000 000 0000", ""}, {"+1201", ""}, {"+120155501234567", ""},
	{"+999 123 456 789", ""}, {"+12015550123;ext=1", ""}, {"tel:+12015550123", ""},
	{"++12015550123", ""}, {"+", ""}, {"", "US"}, {"0039 06 1234 5678", "IT"},
	{"06 1234 5678", "IT"}, {"011 44 7400 123456", "US"}, {"+800 1234 5678", ""},
	{"00 49 151 23456789", "DE"}, {"8 (912) 345-67-89", "RU"}, {"0 800 123 4567", "GB"},
}

// FuzzParse: what a visitor types into the phone field, read in the
// country they picked (a `country` that CheckCountry accepts, as send.go
// takes it; anything else is refused before a parse). An accepted number
// is E.164 (LooksE164), which ParseE164 accepts unchanged and which
// parses to itself in any region; ParseForSend answers exactly as Parse,
// and the facts it keeps for the number (region, type) are those of a
// fresh parse of the E.164 form, so that the countries policy and the
// pumping guard judge the number that is texted.
func FuzzParse(f *testing.F) {
	for _, s := range phoneSeeds {
		f.Add(s.input, s.region)
	}
	f.Fuzz(func(t *testing.T, input, region string) {
		if region != "" && CheckCountry(region) != nil {
			region = ""
		}
		e164, err := Parse(input, region)
		sent, serr := ParseForSend(input, region)
		if e164 != sent || (err == nil) != (serr == nil) {
			t.Fatalf("Parse(%q, %q) = %q, %v; ParseForSend = %q, %v", input, region, e164, err, sent, serr)
		}
		if err != nil {
			if e164 != "" {
				t.Fatalf("Parse(%q, %q) = %q with error %v", input, region, e164, err)
			}
			return
		}
		if !LooksE164(e164) {
			t.Fatalf("Parse(%q, %q) = %q, not E.164", input, region, e164)
		}
		if again, err := ParseE164(e164); err != nil || again != e164 {
			t.Fatalf("Parse(%q, %q) = %q, which ParseE164 reads as %q, %v", input, region, e164, again, err)
		}
		for _, r := range []string{"", "US", "GB", "DE"} {
			if again, err := Parse(e164, r); err != nil || again != e164 {
				t.Fatalf("Parse(%q, %q) = %q, which Parse(_, %q) reads as %q, %v", input, region, e164, r, again, err)
			}
		}
		wantRegion, wantKind := parsed(e164)
		if Region(e164) != wantRegion || Type(e164) != wantKind {
			t.Fatalf("ParseForSend(%q, %q) = %q kept region %q, type %q; a parse of %q says %q, %q",
				input, region, e164, Region(e164), Type(e164), e164, wantRegion, wantKind)
		}
	})
}

// FuzzParseE164: a number of allow, allow_file or users_file. Accepted
// only when it is already the E.164 form Parse makes of it.
func FuzzParseE164(f *testing.F) {
	for _, s := range phoneSeeds {
		f.Add(s.input)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e164, err := ParseE164(s)
		if err != nil {
			if e164 != "" {
				t.Fatalf("ParseE164(%q) = %q with error %v", s, e164, err)
			}
			return
		}
		if e164 != s || !LooksE164(s) {
			t.Fatalf("ParseE164(%q) = %q", s, e164)
		}
		if p, err := Parse(s, ""); err != nil || p != s {
			t.Fatalf("ParseE164 accepts %q, which Parse reads as %q, %v", s, p, err)
		}
	})
}

// FuzzCheckCountry: a country of `countries` or of the phone form's
// `country` field. Accepted only as two capital ASCII letters naming a
// region, which Parse then takes as the region of a national number.
func FuzzCheckCountry(f *testing.F) {
	for _, c := range []string{"US", "GB", "DE", "us", "XX", "ZZ", "001", "U", "USA", "", "ÜS", "U\x00"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		if CheckCountry(c) != nil {
			return
		}
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			t.Fatalf("CheckCountry accepts %q", c)
		}
		// A region code phonenumbers knows: a national number read in it
		// either fails or comes out E.164.
		if e, err := Parse("123456789", c); err == nil && !LooksE164(e) {
			t.Fatalf("Parse in %q = %q", c, e)
		}
	})
}

// writeFuzzFile writes text to the file name of dir (a directory per
// target, not per input: making one per input would cost more than the
// parse).
func writeFuzzFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzReadFile: an allow_file. Either an error naming the file and a
// line, or numbers that each re-validate as E.164, one for each line
// that holds something before its '#'; written out one a line, they read
// back the same.
func FuzzReadFile(f *testing.F) {
	for _, s := range []string{
		"# the team\n\n+12015550123\n   +4915123456789   # Berlin office\r\n\t\n# +447400123456 left\n+447400123456\n",
		"", "+12015550123\n2015550123\n", "# ok\n\n+1 201 555 0123\n", "+12015550123 +4915123456789\n",
		"# a\n# b\n# c\nhello\n", "+12015550123", "\xef\xbb\xbf+12015550123\n", "+12015550123\r\n+12015550123\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := writeFuzzFile(t, dir, "list.txt", text)
		got, err := ReadFile(p)
		if err != nil {
			if !strings.HasPrefix(err.Error(), p+":") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if len(got) != contentLines(text) {
			t.Fatalf("%d numbers from %d lines with content: %q", len(got), contentLines(text), got)
		}
		for _, e := range got {
			if again, err := ParseE164(e); err != nil || again != e {
				t.Fatalf("ReadFile gave %q, which does not re-validate: %v", e, err)
			}
		}
		again, err := ReadFile(writeFuzzFile(t, dir, "again.txt", strings.Join(got, "\n")))
		if err != nil || !reflect.DeepEqual(nilIfEmpty(again), nilIfEmpty(got)) {
			t.Fatalf("read back %q, %v; want %q", again, err, got)
		}
	})
}

// FuzzReadUsersFile: a users_file. Either an error naming the file and a
// line, or users, each with a non-empty name and an E.164 phone that
// re-validates; written out as "name phone" lines, they read back the
// same.
func FuzzReadUsersFile(f *testing.F) {
	for _, s := range []string{
		"# team\nalice +12015550123\n\n  carol\t+4915123456789  # mobile\n", "# nobody yet\n",
		"alice +12015550123\nbob 2015550124\n", "alice\n", "alice +12015550123 extra\n",
		"alice +12015550123\nalice +12015550124\n", "al#ice +12015550123\n", "\xa0alice +12015550123\n",
		"alice\v+12015550123\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := writeFuzzFile(t, dir, "users.txt", text)
		got, err := ReadUsersFile(p)
		if err != nil {
			if !strings.HasPrefix(err.Error(), p+":") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if len(got) != contentLines(text) {
			t.Fatalf("%d users from %d lines with content: %q", len(got), contentLines(text), got)
		}
		var out strings.Builder
		for name, e := range got {
			if name == "" || strings.ContainsAny(name, "# \t\r\n") {
				t.Fatalf("user name %q", name)
			}
			if again, err := ParseE164(e); err != nil || again != e {
				t.Fatalf("user %q has phone %q, which does not re-validate: %v", name, e, err)
			}
			out.WriteString(name + " " + e + "\n")
		}
		again, err := ReadUsersFile(writeFuzzFile(t, dir, "again.txt", out.String()))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("read back %q, %v; want %q", again, err, got)
		}
	})
}

// contentLines counts the lines of text that hold more than white space
// before a '#', as bufio.Scanner splits them (a final "\r" dropped).
func contentLines(text string) int {
	n := 0
	for line := range strings.Lines(text) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
