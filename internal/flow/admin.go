package flow

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/store"
)

// What the admin API (admin.go in the module root) does to a flow, for
// incidents: list blocks, lift one, read the global budget.

// ErrCannotList is BlockedPhones' answer when the store cannot list keys.
var ErrCannotList = errors.New("store cannot list keys")

// BlockedPhones returns the phones blocked now and how long each stays so.
func (f *Flow) BlockedPhones(ctx context.Context) (map[string]time.Duration, error) {
	l, ok := f.Store.(store.Lister)
	if !ok {
		return nil, ErrCannotList
	}
	prefix := f.k("block") + ":"
	keys, err := l.Keys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Duration{}
	for _, k := range keys {
		e164 := strings.TrimPrefix(k, prefix)
		// Another issuer's keys can share the prefix (issuer "a:block"
		// has keys "otp:a:block:block:…"): only phones are ours.
		if !phone.LooksE164(e164) {
			continue
		}
		left, err := f.blocked(ctx, e164)
		if err != nil {
			return nil, err
		}
		if left > 0 {
			out[e164] = left
		}
	}
	return out, nil
}

// Unblock removes phone's block and wrong-code count, lifts its resend
// wait, and reports whether it was blocked. The resend wait lives in the
// phone's send window, and Unhit lifts it by taking back the phone's last
// send: the window keeps its deadline, and its count drops by one.
func (f *Flow) Unblock(ctx context.Context, phone string) (bool, error) {
	left, err := f.blocked(ctx, phone)
	if err != nil {
		return false, err
	}
	if err := f.Store.Delete(ctx, f.k("block", phone), f.k("att", phone)); err != nil {
		return false, err
	}
	return left > 0, f.Store.Unhit(ctx, f.k("p", phone))
}

// ErrCannotReadWindow is GlobalUsed's answer when the store cannot read
// a limit window.
var ErrCannotReadWindow = errors.New("store cannot read a limit window")

// GlobalUsed is how many codes the limit_global window has counted, and
// when it ends (0 and 0 when no window is open).
func (f *Flow) GlobalUsed(ctx context.Context) (int64, time.Duration, error) {
	wr, ok := f.Store.(store.WindowReader)
	if !ok {
		return 0, 0, ErrCannotReadWindow
	}
	n, left, err := wr.Window(ctx, f.k("g"))
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	return n, left, nil
}
