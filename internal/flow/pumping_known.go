package flow

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/caddyotp/caddyotp/store"
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

// knownPhone reports whether e164 passes as a known phone, and if so
// counts this send against its slack.
func (f *Flow) knownPhone(ctx context.Context, e164 string) (bool, error) {
	p := f.Pumping
	if p.Trust <= 0 {
		return false, nil
	}
	key := f.knownPhoneKey(e164)
	v, _, err := f.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if n, err := strconv.Atoi(string(v)); err != nil || n >= knownSlack {
		return false, nil
	}
	// Incr keeps the key's TTL: the pass still ends Trust after the
	// last verified code.
	if _, _, err := store.Durably(f.Store).Incr(ctx, key, 1, p.Trust); err != nil {
		return false, err
	}
	return true, nil
}

// knownPrefix reports whether someone verified in prefix within Trust.
func (f *Flow) knownPrefix(ctx context.Context, prefix string) (bool, error) {
	if f.Pumping.Trust <= 0 {
		return false, nil
	}
	_, _, err := f.Store.Get(ctx, f.knownPrefixKey(prefix))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// markKnown records a verified code: the phone and its prefix are known
// for Trust from now. A key written lately is left as it is, so that a
// regular visitor costs the memory store's disk no write a sign-in.
// Best effort, as the rest of verified.
func (f *Flow) markKnown(ctx context.Context, e164 string) {
	p := f.Pumping
	if p.Trust <= 0 {
		return
	}
	fresh := p.Trust - p.Trust/30
	for _, key := range []string{f.knownPhoneKey(e164), f.knownPrefixKey(Prefix(e164))} {
		if v, ttl, err := f.Store.Get(ctx, key); err == nil && string(v) == "0" && ttl > fresh {
			continue
		}
		store.Durably(f.Store).Set(ctx, key, []byte("0"), p.Trust)
	}
}
