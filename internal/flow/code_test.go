package flow

import (
	"testing"
	"time"
)

func TestCodeRecord(t *testing.T) {
	id := RandomID()
	p := id[:recIDLen]
	hash := make([]byte, hashLen)
	for i := range hash {
		hash[i] = byte(i)
	}
	tests := []struct {
		name  string
		in    []byte
		want  codeRecord
		valid bool
	}{
		{"local", codeRecord{hash: hash}.encode(id), codeRecord{idPrefix: p, hash: hash}, true},
		{"remote", codeRecord{remote: true, ref: "0.dexatel"}.encode(id), codeRecord{idPrefix: p, remote: true, ref: "0.dexatel"}, true},
		{"remote without ref", codeRecord{remote: true}.encode(id), codeRecord{idPrefix: p, remote: true}, true},
		{"counted", codeRecord{hash: hash, mark: markCounted}.encode(id), codeRecord{idPrefix: p, hash: hash, mark: markCounted}, true},
		{"took a slot", codeRecord{hash: hash, mark: markSlot}.encode(id), codeRecord{idPrefix: p, hash: hash, mark: markSlot}, true},
		{"remote, took a slot", codeRecord{remote: true, ref: "x", mark: markSlot}.encode(id), codeRecord{idPrefix: p, remote: true, ref: "x", mark: markSlot}, true},
		{"withheld, imitating a check", codeRecord{hash: hash, imitate: CheckedBySMS}.encode(id), codeRecord{idPrefix: p, hash: hash, imitate: CheckedBySMS}, true},
		{"withheld, imitating the call provider's check", codeRecord{hash: hash, imitate: CheckedByCall}.encode(id), codeRecord{idPrefix: p, hash: hash, imitate: CheckedByCall}, true},
		{"withheld, imitating a check with a limit",
			codeRecord{hash: hash, imitate: CheckedBySMS, limit: 5, lifetime: 10 * time.Minute}.encode(id),
			codeRecord{idPrefix: p, hash: hash, imitate: CheckedBySMS, limit: 5, lifetime: 10 * time.Minute}, true},
		{"withheld, a limit is kept alongside a local hash only if it is one", codeRecord{hash: hash, limit: 5, lifetime: time.Minute}.encode(id),
			codeRecord{idPrefix: p, hash: hash}, true},
		{"withheld, short hash", append([]byte(p+"w"), hash[:hashLen-1]...), codeRecord{}, false},
		{"withheld, limit without lifetime", append(append([]byte(p+"w"), hash...), 5), codeRecord{}, false},
		{"withheld, zero limit", append(append([]byte(p+"w"), hash...), 0, 60), codeRecord{}, false},
		{"withheld, trailing byte", append(append([]byte(p+"w"), hash...), 5, 60, 1), codeRecord{}, false},
		{"local hash with a trailing byte", append(append([]byte(p+"h"), hash...), 5), codeRecord{}, false},
		{"remote ref as long as a hash", codeRecord{remote: true, ref: string(hash)}.encode(id), codeRecord{idPrefix: p, remote: true, ref: string(hash)}, true},
		{"short hash", append([]byte(p+"h"), hash[:hashLen-1]...), codeRecord{}, false},
		{"no tag", []byte(p), codeRecord{}, false},
		{"unknown tag", []byte(p + "x"), codeRecord{}, false},
		{"too short", []byte("abc"), codeRecord{}, false},
		{"empty", nil, codeRecord{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := len(tt.in); tt.valid && n > recIDLen+1+hashLen+3 {
				t.Errorf("record of %d bytes: the memory store keeps a pending code inline only up to 26", n)
			}
			got, valid := decodeRecord(tt.in)
			if valid != tt.valid || got.idPrefix != tt.want.idPrefix || string(got.hash) != string(tt.want.hash) ||
				got.remote != tt.want.remote || got.imitate != tt.want.imitate || got.ref != tt.want.ref ||
				got.limit != tt.want.limit || got.lifetime != tt.want.lifetime || got.mark != tt.want.mark {
				t.Errorf("decodeRecord = %+v, %v; want %+v, %v", got, valid, tt.want, tt.valid)
			}
		})
	}
}

func TestRandomCodeIsUniform(t *testing.T) {
	var counts [10]int
	const n = 20000
	for i := 0; i < n/10; i++ {
		for _, d := range RandomCode(10) {
			counts[d-'0']++
		}
	}
	// Each digit expects n/10 = 2000; a 5-sigma band (sd ≈ 42) never
	// fails by chance in practice but catches a modulo bias or a stuck digit.
	for d, got := range counts {
		if got < 1790 || got > 2210 {
			t.Errorf("digit %d appeared %d times in %d, want about %d", d, got, n, n/10)
		}
	}
	for _, l := range []int{4, 6, 10} {
		if c := RandomCode(l); len(c) != l || !allDigits(c) {
			t.Errorf("RandomCode(%d) = %q", l, c)
		}
	}
}
