package memory

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The window's encoding is what the memory store keeps for every Hit key;
// the conformance suite tests Hit and Attach through the Store interface,
// this the bytes beneath them.
func TestHitWindowEncoding(t *testing.T) {
	tests := []struct {
		name string
		w    hitWindow
		size int
	}{
		{"bare", hitWindow{n: 3, last: 42 * time.Second}, 16},
		{"lifted gap", hitWindow{n: 1, last: noEvent}, 16},
		{"attached", hitWindow{n: 2, last: time.Minute, until: 5 * time.Minute, attached: []byte("pending code")}, 24 + len("pending code")},
		{"attached empty", hitWindow{n: 1, last: time.Second, until: time.Hour, attached: []byte{}}, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.w.encode()
			if len(b) != tt.size {
				t.Fatalf("encoded %d bytes, want %d", len(b), tt.size)
			}
			got, err := decodeWindow(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.n != tt.w.n || got.last != tt.w.last || got.until != tt.w.until ||
				(got.attached == nil) != (tt.w.attached == nil) || !bytes.Equal(got.attached, tt.w.attached) {
				t.Errorf("decoded %+v, want %+v", got, tt.w)
			}
		})
	}
	for _, n := range []int{0, 8, 17, 23} {
		if _, err := decodeWindow(make([]byte, n)); !errors.Is(err, errNotWindow) {
			t.Errorf("%d bytes: err = %v, want errNotWindow", n, err)
		}
	}
}
