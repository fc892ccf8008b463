package ui

import (
	"testing"
	"time"
)

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(Config{Prefix: "/_otp", CodeLength: 6, CodeTTL: 5 * time.Minute, MaxAttempts: 3}); err != nil {
			b.Fatal(err)
		}
	}
}
