package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// Hit records one allowed event in key's window; see Store.Hit. The
// window is stored as 16 bytes: the count and the time (on the cache's
// clock) of the last event.
func (m *Memory) Hit(_ context.Context, key string, limit int64, window, gap time.Duration) (bool, time.Duration, error) {
	if m.mem == nil {
		return false, 0, errUnavailable
	}
	if window <= 0 {
		return false, 0, errTTL
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	now := m.mem.elapsed()
	var w hitWindow
	val, left, ok := m.load(key)
	if ok {
		var err error
		if w, err = decodeWindow(val); err != nil {
			return false, 0, err
		}
		if w.last != noEvent && gap > 0 && now-w.last < gap {
			return false, gap - (now - w.last), nil
		}
	} else {
		left = window
	}
	if w.n >= limit {
		return false, left, nil
	}
	w.n, w.last = w.n+1, now
	m.store(key, w.encode(), left, false)
	return true, 0, nil
}

// Unhit takes back the last allowed Hit under key; see Store.Unhit.
func (m *Memory) Unhit(_ context.Context, key string) error {
	if m.mem == nil {
		return errUnavailable
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	val, left, ok := m.load(key)
	if !ok {
		return nil
	}
	w, err := decodeWindow(val)
	if err != nil {
		return err
	}
	w.n, w.last = max(w.n-1, 0), noEvent
	m.store(key, w.encode(), left, false)
	return nil
}

// Attach keeps val with the window under key; see Store.Attach.
func (m *Memory) Attach(_ context.Context, key string, val []byte, ttl time.Duration) error {
	if m.mem == nil {
		return errUnavailable
	}
	if ttl <= 0 {
		return errTTL
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	cur, left, ok := m.load(key)
	if !ok {
		return store.ErrNotFound
	}
	w, err := decodeWindow(cur)
	if err != nil {
		return err
	}
	w.until, w.attached = m.mem.elapsed()+ttl, val
	m.store(key, w.encode(), max(left, ttl), false)
	return nil
}

// Attached returns the value attached to the window under key; see
// Store.Attached.
func (m *Memory) Attached(_ context.Context, key string) ([]byte, time.Duration, error) {
	if m.mem == nil {
		return nil, 0, errUnavailable
	}
	cur, _, ok := m.load(key)
	if !ok {
		return nil, 0, store.ErrNotFound
	}
	w, err := decodeWindow(cur)
	if err != nil {
		return nil, 0, err
	}
	left := w.until - m.mem.elapsed()
	if w.attached == nil || left <= 0 {
		return nil, 0, store.ErrNotFound
	}
	return bytes.Clone(w.attached), left, nil
}

// Detach removes the value attached to the window under key if it equals
// val (any, if val is nil); see Store.Detach.
func (m *Memory) Detach(_ context.Context, key string, val []byte) (bool, error) {
	if m.mem == nil {
		return false, errUnavailable
	}
	mu := m.mem.lock(key)
	defer mu.Unlock()
	cur, left, ok := m.load(key)
	if !ok {
		return false, nil
	}
	w, err := decodeWindow(cur)
	if err != nil {
		return false, err
	}
	if w.attached == nil || w.until <= m.mem.elapsed() || (val != nil && !bytes.Equal(w.attached, val)) {
		return false, nil
	}
	w.until, w.attached = 0, nil
	m.store(key, w.encode(), left, false)
	return true, nil
}

// Window reads the Hit window under key; see WindowReader.
func (m *Memory) Window(_ context.Context, key string) (int64, time.Duration, error) {
	if m.mem == nil {
		return 0, 0, errUnavailable
	}
	val, left, ok := m.load(key)
	if !ok {
		return 0, 0, store.ErrNotFound
	}
	w, err := decodeWindow(val)
	if err != nil {
		return 0, 0, err
	}
	return w.n, left, nil
}

// noEvent marks a window whose gap has been lifted.
const noEvent = time.Duration(math.MinInt64)

var errNotWindow = errors.New("store: value is not a Hit window")

// hitWindow is a Hit window as the memory store keeps it: the count, the
// time of the last event, and what is attached with the time it lasts
// until (all times on the cache's clock). Encoded it is 16 bytes, or 24
// plus the attached value, which for a pending code fits an inline entry.
type hitWindow struct {
	n        int64
	last     time.Duration
	until    time.Duration
	attached []byte
}

func (w hitWindow) encode() []byte {
	size := 16
	if w.attached != nil {
		size = 24 + len(w.attached)
	}
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b[:8], uint64(w.n))
	binary.BigEndian.PutUint64(b[8:16], uint64(w.last))
	if w.attached != nil {
		binary.BigEndian.PutUint64(b[16:24], uint64(w.until))
		copy(b[24:], w.attached)
	}
	return b
}

// decodeWindow reads an encoded window; its attached value aliases v.
func decodeWindow(v []byte) (hitWindow, error) {
	if len(v) != 16 && len(v) < 24 {
		return hitWindow{}, errNotWindow
	}
	w := hitWindow{
		n:    int64(binary.BigEndian.Uint64(v[:8])),
		last: time.Duration(binary.BigEndian.Uint64(v[8:16])),
	}
	if len(v) >= 24 {
		w.until = time.Duration(binary.BigEndian.Uint64(v[16:24]))
		w.attached = v[24:]
	}
	return w, nil
}
