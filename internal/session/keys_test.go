package session

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
)

// memStorage is the part of Caddy's storage LoadOrCreateSecret uses, in
// memory.
type memStorage struct {
	mu       sync.Mutex
	data     map[string][]byte
	locked   map[string]bool
	stores   int
	loadErr  error
	storeErr error
}

func newMemStorage() *memStorage {
	return &memStorage{data: map[string][]byte{}, locked: map[string]bool{}}
}

func (s *memStorage) Lock(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked[name] {
		return errors.New("already locked")
	}
	s.locked[name] = true
	return nil
}

func (s *memStorage) Unlock(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.locked[name] {
		return errors.New("not locked")
	}
	delete(s.locked, name)
	return nil
}

func (s *memStorage) Load(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	v, ok := s.data[key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return append([]byte(nil), v...), nil
}

func (s *memStorage) Store(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.storeErr != nil {
		return s.storeErr
	}
	s.stores++
	s.data[key] = append([]byte(nil), value...)
	return nil
}

var _ Storage = (*memStorage)(nil)

func TestLoadOrCreateSecret(t *testing.T) {
	ctx := context.Background()

	t.Run("generated once, then reused", func(t *testing.T) {
		st := newMemStorage()
		first, err := LoadOrCreateSecret(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if len(first) < MinSecretLen {
			t.Errorf("generated secret is %d bytes", len(first))
		}
		second, err := LoadOrCreateSecret(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != string(second) {
			t.Error("second call made a new secret")
		}
		if st.stores != 1 {
			t.Errorf("stored %d times, want 1", st.stores)
		}
		if len(st.locked) != 0 {
			t.Errorf("locks left held: %v", st.locked)
		}
		if other, _ := LoadOrCreateSecret(ctx, newMemStorage()); string(other) == string(first) {
			t.Error("two storages got the same generated secret")
		}
	})

	bad := []struct {
		name  string
		setup func(*memStorage)
		want  string
	}{
		{"damaged: not base64", func(s *memStorage) { s.data[secretStorageKey] = []byte("!!not base64!!") }, "damaged"},
		{"damaged: too short", func(s *memStorage) { s.data[secretStorageKey] = []byte("c2hvcnQ=") }, "damaged"},
		{"damaged: empty", func(s *memStorage) { s.data[secretStorageKey] = []byte{} }, "damaged"},
		{"load fails", func(s *memStorage) { s.loadErr = errors.New("disk on fire") }, "disk on fire"},
		{"store fails", func(s *memStorage) { s.storeErr = errors.New("read-only") }, "read-only"},
		{"lock fails", func(s *memStorage) { s.locked[secretStorageKey] = true }, "lock"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStorage()
			tt.setup(st)
			before := string(st.data[secretStorageKey])
			secret, err := LoadOrCreateSecret(ctx, st)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("= %q, %v; want an error containing %q", secret, err, tt.want)
			}
			if got := string(st.data[secretStorageKey]); got != before {
				t.Errorf("stored value changed from %q to %q", before, got)
			}
		})
	}

	t.Run("no storage", func(t *testing.T) {
		if _, err := LoadOrCreateSecret(ctx, nil); err == nil {
			t.Fatal("no error without storage")
		}
	})
}

func TestDeriveKeys(t *testing.T) {
	k1, err := DeriveKeys(testSecret, "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := DeriveKeys(append([]byte(nil), testSecret...), "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	other, err := DeriveKeys([]byte("a different secret, also 32+ bytes long"), "otp:test")
	if err != nil {
		t.Fatal(err)
	}

	named := func(k Keys) map[string][]byte {
		return map[string][]byte{"session": k.Session, "challenge": k.Challenge, "code": k.Code, "csrf": k.CSRF, "device": k.Device}
	}
	a, b, o := named(k1), named(k2), named(other)
	for name, key := range a {
		if len(key) < MinSecretLen {
			t.Errorf("%s key is %d bytes", name, len(key))
		}
		if !bytes.Equal(key, b[name]) {
			t.Errorf("%s key differs between two derivations from one secret", name)
		}
		if bytes.Equal(key, o[name]) {
			t.Errorf("%s key is the same for two secrets", name)
		}
		for name2, key2 := range a {
			if name != name2 && bytes.Equal(key, key2) {
				t.Errorf("%s and %s keys are equal", name, name2)
			}
		}
	}
	if !bytes.Equal(k1.Session, testSecret) {
		t.Error("session key is not the configured secret (other services verify with it)")
	}

	// Every derived key is bound to the domain; the session key cannot
	// be, so sessions carry it in aud (TestSessionDomain).
	dk, err := DeriveKeys(testSecret, "otp:other")
	if err != nil {
		t.Fatal(err)
	}
	d := named(dk)
	for name, key := range a {
		if name != "session" && bytes.Equal(key, d[name]) {
			t.Errorf("%s key is the same for two domains", name)
		}
	}
}
