package storetest

import (
	"context"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// The fakes the stores' own tests share.

// MapStorage is an in-memory Caddy storage, for the stores' tests.
type MapStorage struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMapStorage is an empty MapStorage.
func NewMapStorage() *MapStorage { return &MapStorage{m: map[string][]byte{}} }

func (s *MapStorage) Store(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), value...)
	return nil
}

func (s *MapStorage) Load(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return v, nil
}

func (s *MapStorage) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok {
		return fs.ErrNotExist
	}
	delete(s.m, key)
	return nil
}

func (s *MapStorage) List(_ context.Context, prefix string, _ bool) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s.m)) {
		if strings.HasPrefix(k, prefix+"/") {
			out = append(out, k)
		}
	}
	if out == nil {
		return nil, fs.ErrNotExist
	}
	return out, nil
}

// Recorder is a store.RevocationWatcher that keeps what it was told.
type Recorder struct {
	mu         sync.Mutex
	got        []string // "key=val ttl"
	live       bool
	ups, downs int
	lastTTL    time.Duration
}

// Revoked implements store.RevocationWatcher.
func (r *Recorder) Revoked(key string, val []byte, ttl time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, key+"="+string(val))
	r.lastTTL = ttl
}

// Live implements store.RevocationWatcher.
func (r *Recorder) Live(up bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = up
	if up {
		r.ups++
	} else {
		r.downs++
	}
}

// State is what r was told: whether it is live, how often it went up
// and down, and the revocations it heard.
func (r *Recorder) State() (live bool, ups, downs int, got []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live, r.ups, r.downs, append([]string(nil), r.got...)
}

// LastTTL is the TTL of the last revocation r heard.
func (r *Recorder) LastTTL() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastTTL
}
