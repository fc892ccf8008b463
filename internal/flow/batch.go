package flow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// ops is a batch of store calls being made (store.Batch): a send's
// decision is two of them and its code a third, a verify two, each one
// round trip to a store that batches. add returns the index where the
// op's results will be.
type ops []store.Op

func (b *ops) add(op store.Op) int {
	*b = append(*b, op)
	return len(*b) - 1
}

// run makes the batch b on the flow's store and returns the first
// failure (store.Batch; an empty batch costs nothing).
func (f *Flow) run(ctx context.Context, b ops) error {
	return store.Batch(ctx, f.Store, b)
}

// undoTTL is the TTL of a counter's take-back: it is given only to a key
// that expired since the count it takes back, and then the take-back
// (a negative count) must not outlive the moment. A known phone's
// count, or an attempt, taken back from a key just gone must not make
// a key of its own.
const undoTTL = time.Millisecond

func get(key string) store.Op { return store.Op{Kind: store.OpGet, Key: key} }

// present reports whether a Get found its key.
func present(op store.Op) (bool, error) {
	if errors.Is(op.Err, store.ErrNotFound) {
		return false, nil
	}
	return op.Err == nil, op.Err
}

// counter is a Get's value as a counter: 0 when the key is absent.
func counter(op store.Op) (int64, error) {
	if errors.Is(op.Err, store.ErrNotFound) {
		return 0, nil
	}
	if op.Err != nil {
		return 0, op.Err
	}
	n, err := strconv.ParseInt(string(op.Out), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("counter %s: %w", op.Key, err)
	}
	return n, nil
}
