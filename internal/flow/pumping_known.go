package flow

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Known visitors. A phone that verified a code on this protection domain
// within Pumping.Trust passes every pumping rule, as an allowlisted one
// does, so that a pause, right or wrong, only ever holds back numbers that
// never signed in; a prefix where someone verified within Trust is not
// held by its country's pause. A phone is kept only as a keyed hash; a
// prefix (a block of ten thousand numbers) as it is.
//
// A known phone keeps its pass while it verifies: knownSlack codes in a
// row that it does not verify, and it is judged like any other number
// until it verifies again. A returning visitor who asks again because a
// code was slow passes; a number a pump verified once does not go on
// passing. Both are durable, as pauses are: a restart must not hold back
// returning visitors that a pause let through before it.
const knownSlack = 3

func (f *Flow) knownPhoneKey(e164 string) string {
	m := hmac.New(sha256.New, f.Key)
	m.Write([]byte("known phone\x00"))
	m.Write([]byte(e164))
	return f.k("kn", hex.EncodeToString(m.Sum(nil)[:16]))
}

func (f *Flow) knownPrefixKey(prefix string) string { return f.k("kp", prefix) }
