package phone

import (
	"slices"
	"testing"
)

func TestType(t *testing.T) {
	for _, tt := range []struct{ e164, want string }{
		{"+447400123456", "mobile"},
		{"+449012345678", "premium_rate"},
		{"+448001234567", "toll_free"},
		{"+447640123456", "pager"},
		{"+447012345678", "personal_number"},
		{"+445612345678", "voip"},
		{"+445512345678", "uan"},
		{"+12015550123", "fixed_line_or_mobile"},
		{"+19002345678", "premium_rate"},
		{"+4918012345", "shared_cost"},
		{"+49177991234567", "voicemail"},
		{"not a number", "unknown"},
	} {
		if got := Type(tt.e164); got != tt.want {
			t.Errorf("Type(%s) = %s, want %s", tt.e164, got, tt.want)
		}
	}
	for _, n := range Withholdable {
		if !slices.Contains(typeNamesList(), n) {
			t.Errorf("withholdable %q is no type name", n)
		}
	}
}

func typeNamesList() (out []string) {
	for _, n := range typeNames {
		out = append(out, n)
	}
	return out
}

func TestRegionAndListed(t *testing.T) {
	if r := Region("+447400123456"); r != "GB" {
		t.Errorf("Region = %q, want GB", r)
	}
	p := Policy{}
	if p.Listed("+447400123456") {
		t.Error("no allowlist, yet listed")
	}
	p.Allow = map[string]struct{}{"+447400123456": {}}
	if !p.Listed("+447400123456") || p.Listed("+447400123457") {
		t.Error("Listed does not follow the allowlist")
	}
}
