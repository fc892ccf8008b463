package sms

import "testing"

func TestVoiceTextReadsTheDigitsSlowlyTwice(t *testing.T) {
	if got := SpokenCode("4071"); got != "4, 0, 7, 1" {
		t.Errorf("SpokenCode = %q", got)
	}
	want := "Your verification code for app.example.com is: 1, 2, 3, 4, 5, 6. I repeat: 1, 2, 3, 4, 5, 6."
	if got := VoiceText("123456", "app.example.com"); got != want {
		t.Errorf("VoiceText = %q, want %q", got, want)
	}
}
