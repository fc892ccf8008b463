package store

import (
	"context"
	"time"
)

// Revocations is implemented by stores that push revocations to every
// instance sharing them, so that a session verified once need not be
// checked in the store again: the memory store delivers them in the
// process, the Redis store through pub/sub (sharded pub/sub on a Redis
// Cluster). It is optional: with a store that lacks it, a cached session
// is re-checked in the store at most once a second.
type Revocations interface {
	// Revoke writes val under key for ttl through the store's durable
	// view (as Durably(st).Set), and then publishes it to every
	// subscriber of every instance sharing the store, this one's
	// included. An error means the revocation may not be written or not
	// published, and the caller must say so.
	Revoke(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Subscribe registers w until the returned function is called. w's
	// Live(true) is called when the subscription is in place (at once if
	// it already is): from then on every revocation published is passed
	// to Revoked, until Live(false), which is called as soon as the
	// subscription is lost or in doubt (a dropped connection, no answer to
	// a ping, a failover). A revocation published between the two may be
	// missed: it is in the store, where the watcher must look until the
	// next Live(true).
	Subscribe(w RevocationWatcher) (cancel func())
}

// RevocationWatcher receives what a Revocations store pushes. Its methods
// are called from one goroutine at a time per store, and must not block.
type RevocationWatcher interface {
	// Revoked is a key written by Revocations.Revoke on some instance.
	Revoked(key string, val []byte, ttl time.Duration)
	// Live reports whether every revocation published from now on will
	// reach Revoked.
	Live(up bool)
}
