package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store"
)

// runBatched runs the suite's single-call checks again with every call
// made as a batch of one op (store.Batch): a store that is a Batcher
// must give each op the result, error and TTL its method gives.
func runBatched(t *testing.T, h Harness) {
	hb := Harness{Slack: h.Slack, New: func(t *testing.T) (store.Store, func(time.Duration)) {
		s, advance := h.New(t)
		return oneOpBatches{s}, advance
	}}
	t.Run("scripts", func(t *testing.T) { runScripts(t, hb) })
	t.Run("errors", func(t *testing.T) { runErrors(t, hb) })
	t.Run("hit", func(t *testing.T) { runHit(t, hb) })
	t.Run("attach", func(t *testing.T) { runAttach(t, hb) })
	t.Run("packed counters", func(t *testing.T) { runPackedCounters(t, hb) })
}

// oneOpBatches is a store whose calls are each a batch of one op;
// CompareAndDelete, which no op stands for, and a Delete of several keys
// go to the store as they are.
type oneOpBatches struct{ s store.Store }

func (b oneOpBatches) one(op store.Op) store.Op {
	ops := []store.Op{op}
	store.Batch(context.Background(), b.s, ops)
	return ops[0]
}

func (b oneOpBatches) Get(_ context.Context, key string) ([]byte, time.Duration, error) {
	op := b.one(store.Op{Kind: store.OpGet, Key: key})
	return op.Out, op.Left, op.Err
}

func (b oneOpBatches) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	return b.one(store.Op{Kind: store.OpSet, Key: key, Val: val, TTL: ttl}).Err
}

func (b oneOpBatches) SetNX(_ context.Context, key string, val []byte, ttl time.Duration) (bool, time.Duration, error) {
	op := b.one(store.Op{Kind: store.OpSetNX, Key: key, Val: val, TTL: ttl})
	return op.OK, op.Left, op.Err
}

func (b oneOpBatches) Incr(_ context.Context, key string, delta int64, ttl time.Duration) (int64, time.Duration, error) {
	op := b.one(store.Op{Kind: store.OpIncr, Key: key, Delta: delta, TTL: ttl})
	return op.N, op.Left, op.Err
}

func (b oneOpBatches) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	return b.s.CompareAndDelete(ctx, key, val)
}

func (b oneOpBatches) Delete(ctx context.Context, keys ...string) error {
	if len(keys) != 1 {
		return b.s.Delete(ctx, keys...)
	}
	return b.one(store.Op{Kind: store.OpDelete, Key: keys[0]}).Err
}

func (b oneOpBatches) Hit(_ context.Context, key string, limit int64, window, gap time.Duration) (bool, time.Duration, error) {
	op := b.one(store.Op{Kind: store.OpHit, Key: key, Limit: limit, Window: window, Gap: gap})
	return op.OK, op.Left, op.Err
}

func (b oneOpBatches) Unhit(_ context.Context, key string) error {
	return b.one(store.Op{Kind: store.OpUnhit, Key: key}).Err
}

func (b oneOpBatches) Attach(_ context.Context, key string, val []byte, ttl time.Duration) error {
	return b.one(store.Op{Kind: store.OpAttach, Key: key, Val: val, TTL: ttl}).Err
}

func (b oneOpBatches) Attached(_ context.Context, key string) ([]byte, time.Duration, error) {
	op := b.one(store.Op{Kind: store.OpAttached, Key: key})
	return op.Out, op.Left, op.Err
}

func (b oneOpBatches) Detach(_ context.Context, key string, val []byte) (bool, error) {
	op := b.one(store.Op{Kind: store.OpDetach, Key: key, Val: val})
	return op.OK, op.Err
}

// Window reads the store's window, for the attach checks.
func (b oneOpBatches) Window(ctx context.Context, key string) (int64, time.Duration, error) {
	return readWindow(b.s, key)
}

// runBatch checks one batch of every kind of op: they run in order, each
// as its method would, an op's failure is its own, and Batch returns the
// first error that is not ErrNotFound. The keys are many, so that on a
// Redis Cluster the batch reaches several nodes.
func runBatch(t *testing.T, h Harness) {
	ctx := context.Background()
	s, _ := h.New(t)
	if err := s.Set(ctx, "plain", []byte("x"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "gone", []byte("x"), time.Minute); err != nil {
		t.Fatal(err)
	}
	type want struct {
		out  string
		left time.Duration
		n    int64
		ok   bool
		err  error // ErrNotFound, or errAny
	}
	errAny := errors.New("any error")
	steps := []struct {
		op   store.Op
		want want
	}{
		{store.Op{Kind: store.OpGet, Key: "absent"}, want{err: store.ErrNotFound}},
		{store.Op{Kind: store.OpSet, Key: "a", Val: []byte("1"), TTL: time.Minute}, want{}},
		{store.Op{Kind: store.OpGet, Key: "a"}, want{out: "1", left: time.Minute}},
		{store.Op{Kind: store.OpIncr, Key: "a", Delta: 2, TTL: time.Hour}, want{n: 3, left: time.Minute}},
		{store.Op{Kind: store.OpIncr, Key: "plain", Delta: 1, TTL: time.Minute}, want{err: errAny}},
		{store.Op{Kind: store.OpIncr, Key: "c", Delta: 5, TTL: time.Hour, Durable: true}, want{n: 5, left: time.Hour}},
		{store.Op{Kind: store.OpSetNX, Key: "a", Val: []byte("2"), TTL: time.Hour}, want{left: time.Minute}},
		{store.Op{Kind: store.OpSetNX, Key: "n", Val: []byte("v"), TTL: time.Hour}, want{ok: true, left: time.Hour}},
		{store.Op{Kind: store.OpHit, Key: "w", Limit: 1, Window: time.Hour}, want{ok: true}},
		{store.Op{Kind: store.OpHit, Key: "w", Limit: 1, Window: time.Hour}, want{left: time.Hour}},
		{store.Op{Kind: store.OpAttach, Key: "w", Val: []byte("rec"), TTL: time.Minute}, want{}},
		{store.Op{Kind: store.OpAttach, Key: "nowindow", Val: []byte("rec"), TTL: time.Minute}, want{err: store.ErrNotFound}},
		{store.Op{Kind: store.OpAttached, Key: "w"}, want{out: "rec", left: time.Minute}},
		{store.Op{Kind: store.OpDetach, Key: "w", Val: []byte("other")}, want{}},
		{store.Op{Kind: store.OpDetach, Key: "w", Val: []byte("rec")}, want{ok: true}},
		{store.Op{Kind: store.OpAttached, Key: "w"}, want{err: store.ErrNotFound}},
		{store.Op{Kind: store.OpUnhit, Key: "w"}, want{}},
		{store.Op{Kind: store.OpHit, Key: "w", Limit: 1, Window: time.Hour}, want{ok: true}},
		{store.Op{Kind: store.OpSet, Key: "zero", Val: []byte("1")}, want{err: errAny}},
		{store.Op{Kind: store.OpDelete, Key: "gone"}, want{}},
		{store.Op{Kind: store.OpGet, Key: "gone"}, want{err: store.ErrNotFound}},
		{store.Op{Kind: store.OpGet, Key: "c", Durable: true}, want{out: "5", left: time.Hour}},
	}
	ops := make([]store.Op, len(steps))
	for i, st := range steps {
		ops[i] = st.op
	}
	err := store.Batch(ctx, s, ops)
	if err == nil || err != ops[4].Err {
		t.Errorf("Batch = %v, want the first failed op's error %v", err, ops[4].Err)
	}
	for i, st := range steps {
		op, w := ops[i], st.want
		switch {
		case w.err == errAny:
			if op.Err == nil || errors.Is(op.Err, store.ErrNotFound) {
				t.Errorf("op %d (kind %d %q): err %v, want a failure", i, op.Kind, op.Key, op.Err)
			}
		case !errors.Is(op.Err, w.err) || (w.err == nil && op.Err != nil):
			t.Errorf("op %d (kind %d %q): err %v, want %v", i, op.Kind, op.Key, op.Err, w.err)
		case string(op.Out) != w.out || op.N != w.n || op.OK != w.ok || !h.ttlOK(op.Left, w.left):
			t.Errorf("op %d (kind %d %q): got %q %d %v %v, want %q %d %v %v", i, op.Kind, op.Key,
				op.Out, op.N, op.OK, op.Left, w.out, w.n, w.ok, w.left)
		}
	}
	if v, _, err := s.Get(ctx, "plain"); err != nil || string(v) != "x" {
		t.Errorf("the failed Incr changed its key: %q %v", v, err)
	}
	if err := store.Batch(ctx, s, nil); err != nil {
		t.Errorf("an empty batch: %v", err)
	}
}
