// Package store defines the state phone_otp keeps between requests
// (pending codes, attempt counters, blocks, rate-limit windows, revoked
// sessions): the Store interface, its optional views and its errors. It
// imports neither Caddy nor a store's driver. A store is a Caddy module in
// the namespace http.handlers.phone_otp.store whose instance implements
// Store; the two that ship with phone_otp are in store/memory and
// store/redis.
package store

import (
	"context"
	"errors"
	"time"
)

// Namespace is the Caddy module namespace of stores.
const Namespace = "http.handlers.phone_otp.store"

// ErrNotFound is returned by Get for a key that is absent or expired.
var ErrNotFound = errors.New("store: not found")

// Store is a small key-value store with expiry. Every method is atomic on
// its own: the flow builds its decisions (consume a code once, count a wrong
// attempt, take a slot in a rate-limit window) from these single calls, so
// that they hold across Caddy instances sharing one store. Every key has a
// TTL; nothing lives forever. Any error other than ErrNotFound means the
// store could not answer, and the caller fails closed.
type Store interface {
	// Get returns the value under key and how long it has left to live.
	Get(ctx context.Context, key string) ([]byte, time.Duration, error)
	// Set stores val under key for ttl, replacing any value and TTL.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// SetNX stores val under key for ttl only if key is absent. It reports
	// whether it stored; when it did not, it returns the existing key's
	// remaining TTL.
	SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, time.Duration, error)
	// Incr adds delta to the integer counter under key and returns the new
	// value and the counter's remaining TTL. An absent key starts at 0 and
	// is created with ttl; an existing key keeps its TTL (a fixed window).
	Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, time.Duration, error)
	// CompareAndDelete deletes key only if its value equals val, and
	// reports whether it did. Two callers racing on one key: at most one
	// sees true.
	CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error)
	// Delete removes the keys; absent keys are not an error.
	Delete(ctx context.Context, keys ...string) error

	// Hit records one event under key, if it is allowed, in a fixed window
	// of length window that starts with the first event: at most limit
	// events a window, and at least gap between two of them (0: no gap).
	// A refused event is not recorded; retryAfter says when the next one
	// would be allowed. One key holds both rules, so a rate limit with a
	// minimum spacing (codes per phone per hour, and a resend gap) costs
	// one entry, not two.
	Hit(ctx context.Context, key string, limit int64, window, gap time.Duration) (allowed bool, retryAfter time.Duration, err error)
	// Unhit takes back the last allowed Hit under key: the count goes down
	// by one and the gap is lifted, as if it had not happened; the window
	// keeps its deadline. An absent key is not an error.
	Unhit(ctx context.Context, key string) error

	// Attach keeps val with the Hit window under key for ttl, replacing
	// any value attached before; the window lives at least that long. It
	// returns ErrNotFound when there is no window. A pending code rides on
	// its phone's window this way, so it costs no entry of its own. Hit
	// and Unhit keep what is attached.
	Attach(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Attached returns the value attached to the window under key and how
	// long it has left, or ErrNotFound.
	Attached(ctx context.Context, key string) ([]byte, time.Duration, error)
	// Detach removes the attached value if it equals val (any value when
	// val is nil) and reports whether it did. Two callers racing to detach
	// one value: at most one sees true.
	Detach(ctx context.Context, key string, val []byte) (bool, error)
}

// Lister is implemented by stores that can enumerate their keys. It is
// optional: the hot path never lists, only the admin API does (to show
// blocked phones), and it says so plainly when a store cannot.
type Lister interface {
	// Keys returns the live keys that begin with prefix, in no particular
	// order. prefix is matched literally: glob characters in it (a Redis
	// store scans with MATCH) must be escaped. It may be slow on a big
	// store, and a key may expire between Keys and a later Get.
	Keys(ctx context.Context, prefix string) ([]string, error)
}

// WindowReader is implemented by stores that can read a Hit window without
// recording an event. It is optional, like Lister: only the admin API uses
// it (the global SMS budget).
type WindowReader interface {
	// Window returns how many events the window under key has counted and
	// how long it has left; ErrNotFound when no window is open.
	Window(ctx context.Context, key string) (count int64, left time.Duration, err error)
}

// Durable is implemented by stores that keep only some keys through a
// restart: the memory store holds everything in the process, and keeps
// the keys written through its durable view in Caddy's storage too.
// Callers write the state whose loss would reopen a door (revocations,
// blocks, attempt counters) through Durably(st), and the rest (codes,
// send windows) through st; nobody guesses from key names. A store that
// is durable as a whole, or cannot be, need not implement it.
type Durable interface {
	// Durable returns a view of the store whose Set, SetNX and Incr are
	// kept through a restart. Both views read and write the same data; a
	// key written durably stays durable, whichever view writes it next,
	// until it is deleted or expires. Hit windows are never durable.
	Durable() Store
}

// Durably returns st's durable view, or st itself if it has none.
func Durably(st Store) Store {
	if d, ok := st.(Durable); ok {
		return d.Durable()
	}
	return st
}

// LossDetector is implemented by stores that can lose their data while
// phone_otp's tokens live on (a Redis restarted without persistence) and
// can tell when it happened. A revocation written before the loss may be
// gone, so a token issued before it cannot be trusted.
type LossDetector interface {
	// LostBefore returns the Unix second up to which issued tokens must
	// be refused because the store lost what it knew about them; 0 when
	// no loss is known. It may make a store call (at most about once a
	// second, and after a reconnection); an error means the store could
	// not answer, and the caller fails closed.
	LostBefore(ctx context.Context) (int64, error)
}

// LossWitness is implemented by a LossDetector that cannot tell a loss
// from a first start on its own (the memory store on a fresh storage):
// LossSeen is called when a token was refused because of LostBefore,
// which proves the loss, so that it can be reported.
type LossWitness interface {
	LossSeen()
}

// Identity is a store that can tell when two of its instances are one
// store: the same StoreID means the same data and the same revocation
// subscription (as a reload's new instance of an unchanged config has), so
// what one instance verified holds for the other. A store that is not an
// Identity, or answers "", is never taken for another.
type Identity interface {
	StoreID() string
}
