package session

import (
	"context"
	"errors"
	"strconv"

	"github.com/golang-jwt/jwt/v5"

	"github.com/caddyotp/caddyotp/store"
)

// Revocations, blocks and attempt counters are durable (see
// store.Durable): written through store.Durably, they survive a restart
// with the memory store; with a store that can lose its data and knows
// it (store.LossDetector), tokens issued before the loss are refused.

// revokedSince reports whether a token issued at iat falls under the
// "everything issued until" record v (a Unix second, as
// Sessions.RevokePhone writes it; err is the store's answer for it, which
// the caller checked for failures: nil or ErrNotFound). iat has whole
// seconds, so a token issued in the second of the record is refused too:
// better one sign-in more than one too few. A damaged record revokes.
func revokedSince(v []byte, err error, iat *jwt.NumericDate) bool {
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	until, perr := strconv.ParseInt(string(v), 10, 64)
	return perr != nil || iat == nil || iat.Unix() <= until
}

// revokedIn reports whether a token issued at iat is revoked in st: its own
// record under key, its phone's "issued until" record under phoneKey
// (read together, in one round trip where the store batches), or a loss
// of st's data since (issuedBeforeLoss), checked last so that a
// reconnection the reads made is seen. Sessions and remembered devices
// are both checked so. A store failure is a *StoreError.
func revokedIn(ctx context.Context, st store.Store, key, phoneKey string, iat *jwt.NumericDate) (bool, error) {
	ops := [2]store.Op{
		{Kind: store.OpGet, Key: key},
		{Kind: store.OpGet, Key: phoneKey},
	}
	if err := store.Batch(ctx, st, ops[:]); err != nil {
		return false, &StoreError{err}
	}
	if ops[0].Err == nil || revokedSince(ops[1].Out, ops[1].Err, iat) {
		return true, nil
	}
	return issuedBeforeLoss(ctx, st, iat)
}

// issuedBeforeLoss reports whether a token issued at iat predates a loss
// of st's data, when st can tell: its revocation may be among what was
// lost. Same rule for the second of the loss as revokedSince.
func issuedBeforeLoss(ctx context.Context, st store.Store, iat *jwt.NumericDate) (bool, error) {
	ld, ok := st.(store.LossDetector)
	if !ok {
		return false, nil
	}
	until, err := ld.LostBefore(ctx)
	if err != nil {
		return false, &StoreError{err}
	}
	lost := until > 0 && (iat == nil || iat.Unix() <= until)
	if w, ok := st.(store.LossWitness); ok && lost {
		w.LossSeen()
	}
	return lost, nil
}
