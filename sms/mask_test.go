package sms

import "testing"

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+12015550123", "+1******0123"},
		{"+4915123456789", "+4********6789"},
		{"12015550123", "12*****0123"},
		{"+123456", "+1*3456"},
		{"+12345", "+*****"},
		{"1234", "****"},
		{"+", "+"},
		{"", ""},
		{"+1 (201) 555-0123", "+1***********0123"},
		{"+١٢٣٤٥٦٧٨", "+١***٥٦٧٨"},
		{"\xff\xfe+12", "*****"},
	}
	for _, tt := range tests {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
