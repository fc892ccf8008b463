package flow

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// What the store keeps of a code, and how codes and ids are drawn.

// hash is the keyed hash stored in place of a code: HMAC-SHA256 over the
// challenge id, phone and code, truncated to 128 bits (RFC 2104 allows
// down to half the output; guessing is bounded by max_attempts, not by
// the tag). Binding the id and phone makes a hash useless for any other
// challenge.
func (f *Flow) hash(id, phone, code string) []byte {
	m := hmac.New(sha256.New, f.Key)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(phone))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)[:hashLen]
}

const (
	hashLen  = 16
	recIDLen = 6 // how much of the Challenge id a record keeps
)

// codeRecord is what the store keeps of a code: the start of the
// challenge id, and either the code's keyed hash or, for a code the
// provider made, that the provider checks it and the provider's Ref.
// imitate marks a withheld number's hash whose real send would have left
// the code to a provider to check: each verify imitates that checker's
// check (imitate.go) before comparing, refusing past its limit checks
// of a verification, which lasts lifetime.
type codeRecord struct {
	idPrefix string
	hash     []byte
	remote   bool
	imitate  Checker
	limit    int
	lifetime time.Duration
	ref      string
	mark     mark // what the pumping guard made of the send
}

// recordTags are the tags of hash and remote records by the guard's mark.
var recordTags = [2][3]byte{{'h', 'i', 'j'}, {'r', 's', 't'}}

// Encoded, a record is the id prefix, a tag ('h' hash, 'r' remote, or for
// a send the pumping guard counted 'i' and 's', and 'j' and 't' when it
// took a limit_prefix slot; a Checker, 'w' or 'v', for the hash of a
// withheld number whose verifies imitate that checker) and the hash or the
// ref, then for a checker with a limit the limit (a byte) and the lifetime
// in seconds (a uvarint): 23 bytes for a hash, 26 at most, small enough
// for the memory store to keep inline, because a flood of pending codes
// must fit in memory. The id prefix tells "replaced by a newer code" from
// "wrong code"; the hash
// binds the whole id.
func (r codeRecord) encode(id string) []byte {
	out := []byte(id[:recIDLen])
	if r.remote {
		return append(append(out, recordTags[1][r.mark]), r.ref...)
	}
	if r.imitate == CheckedHere {
		return append(append(out, recordTags[0][r.mark]), r.hash...)
	}
	out = append(append(out, byte(r.imitate)), r.hash...)
	if r.limit > 0 {
		out = append(out, byte(min(r.limit, 255)))
		out = binary.AppendUvarint(out, uint64(r.lifetime/time.Second))
	}
	return out
}

func decodeRecord(rec []byte) (codeRecord, bool) {
	if len(rec) < recIDLen+1 {
		return codeRecord{}, false
	}
	r := codeRecord{idPrefix: string(rec[:recIDLen])}
	tag, body := rec[recIDLen], rec[recIDLen+1:]
	if tag == byte(CheckedBySMS) || tag == byte(CheckedByCall) {
		if len(body) < hashLen {
			return codeRecord{}, false
		}
		r.hash, r.imitate = body[:hashLen], Checker(tag)
		if rest := body[hashLen:]; len(rest) > 0 {
			secs, n := binary.Uvarint(rest[1:])
			if rest[0] == 0 || n <= 0 || 1+n != len(rest) || secs == 0 || secs > 1<<32 {
				return codeRecord{}, false
			}
			r.limit, r.lifetime = int(rest[0]), time.Duration(secs)*time.Second
		}
		return r, true
	}
	for kind, tags := range recordTags {
		for m, t := range tags {
			if t != tag {
				continue
			}
			r.mark = mark(m)
			if kind == 1 {
				r.remote, r.ref = true, string(body)
				return r, true
			}
			if len(body) != hashLen {
				return codeRecord{}, false
			}
			r.hash = body
			return r, true
		}
	}
	return codeRecord{}, false
}

// IDLen is the length of RandomID's output.
const IDLen = 26

// RandomID returns 130 random bits as base32 text: a challenge's id, and
// the root's session ids and nonces.
func RandomID() string {
	return rand.Text()
}

// RandomCode returns n uniformly random decimal digits from crypto/rand.
func RandomCode(n int) string {
	out := make([]byte, 0, n)
	var buf [16]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			// 250 is the largest multiple of 10 under 256: rejecting
			// bytes above it keeps every digit equally likely.
			if b < 250 && len(out) < n {
				out = append(out, '0'+b%10)
			}
		}
	}
	return string(out)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
