package store

import (
	"context"
	"fmt"
	"time"
)

// OpKind names the Store method an Op stands for.
type OpKind uint8

// The Store methods an Op can stand for.
const (
	OpGet OpKind = iota + 1
	OpSet
	OpSetNX
	OpIncr
	OpDelete
	OpHit
	OpUnhit
	OpAttach
	OpAttached
	OpDetach
)

// Op is one Store call in a batch: its kind and arguments, and, once the
// batch has run, its results, as the method would have returned them.
// Each op is as atomic as its method alone; a batch as a whole is not a
// transaction. It saves round trips, not atomicity: Batcher.
type Op struct {
	Kind  OpKind
	Key   string
	Val   []byte        // Set, SetNX, Attach, Detach (nil: any)
	TTL   time.Duration // Set, SetNX, Incr, Attach
	Delta int64         // Incr
	Limit int64         // Hit
	// Window and Gap are Hit's.
	Window, Gap time.Duration
	// Durable makes the call on Durably(store): attempts, blocks, pauses,
	// known phones, revocations.
	Durable bool

	// Results. Out: Get's and Attached's value. Left: Get's, Attached's
	// and Incr's remaining TTL, SetNX's existing key's, Hit's retryAfter.
	// N: Incr's value. OK: SetNX's stored, Hit's allowed, Detach's
	// detached. Err: the method's error (ErrNotFound for an absent key).
	Out  []byte
	Left time.Duration
	N    int64
	OK   bool
	Err  error
}

// Batcher is a Store that runs several calls in one round trip (a Redis
// pipeline): the flow's decisions read and take what they need in one
// or two batches instead of a call each. Ops run in order, each as its
// method would; a batch makes no promise that no other client's call
// runs between two of its ops.
type Batcher interface {
	Batch(ctx context.Context, ops []Op) error
}

// Batch runs ops on st: in one round trip if st is a Batcher, else one
// call at a time; no ops, no round trip. Each op's own result and error are in it; the error
// returned is the first op's error other than ErrNotFound, so a caller
// that fails closed on any store failure checks it once.
func Batch(ctx context.Context, st Store, ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	if b, ok := st.(Batcher); ok {
		if err := b.Batch(ctx, ops); err != nil {
			return err
		}
	} else {
		for i := range ops {
			Run(ctx, st, &ops[i])
		}
	}
	return FirstError(ops)
}

// FirstError is the first error among ops other than ErrNotFound.
func FirstError(ops []Op) error {
	for i := range ops {
		if err := ops[i].Err; err != nil && err != ErrNotFound {
			return err
		}
	}
	return nil
}

// Run makes op's call on st and records its results in op: Batch for a
// store that is not a Batcher, and a Batcher's own fallback.
func Run(ctx context.Context, st Store, op *Op) {
	if op.Durable {
		st = Durably(st)
	}
	switch op.Kind {
	case OpGet:
		op.Out, op.Left, op.Err = st.Get(ctx, op.Key)
	case OpSet:
		op.Err = st.Set(ctx, op.Key, op.Val, op.TTL)
	case OpSetNX:
		op.OK, op.Left, op.Err = st.SetNX(ctx, op.Key, op.Val, op.TTL)
	case OpIncr:
		op.N, op.Left, op.Err = st.Incr(ctx, op.Key, op.Delta, op.TTL)
	case OpDelete:
		op.Err = st.Delete(ctx, op.Key)
	case OpHit:
		op.OK, op.Left, op.Err = st.Hit(ctx, op.Key, op.Limit, op.Window, op.Gap)
	case OpUnhit:
		op.Err = st.Unhit(ctx, op.Key)
	case OpAttach:
		op.Err = st.Attach(ctx, op.Key, op.Val, op.TTL)
	case OpAttached:
		op.Out, op.Left, op.Err = st.Attached(ctx, op.Key)
	case OpDetach:
		op.OK, op.Err = st.Detach(ctx, op.Key, op.Val)
	default:
		op.Err = fmt.Errorf("store: batch: unknown op kind %d", op.Kind)
	}
}
