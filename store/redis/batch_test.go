package redis

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/store"
)

// countTrips has r count its round trips in a counter of the test's own.
func countTrips(r *Redis) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "trips"})
	addRoundTripHook(r.client, c)
	return c
}

// warmUp has r connect to every node it will use, so that a test counts
// store calls, not connections being made.
func warmUp(t *testing.T, r *Redis) {
	t.Helper()
	ops := batchOps(6)
	for i := range ops {
		ops[i].Key += ":warm"
	}
	if err := store.Batch(context.Background(), r, ops); err != nil {
		t.Fatal(err)
	}
}

// batchOps is a batch a send might make: reads, then takes, each on a key
// of its own.
func batchOps(n int) []store.Op {
	var ops []store.Op
	for i := range n {
		k := fmt.Sprintf("k%d", i)
		ops = append(ops,
			store.Op{Kind: store.OpIncr, Key: k, Delta: 1, TTL: time.Minute},
			store.Op{Kind: store.OpHit, Key: "w" + k, Limit: 5, Window: time.Hour},
			store.Op{Kind: store.OpGet, Key: k},
		)
	}
	return append(ops, store.Op{Kind: store.OpSet, Key: "plain", Val: []byte("v"), TTL: time.Minute})
}

// A batch is one round trip; after Redis lost its scripts (SCRIPT FLUSH,
// as a restart does), the ops answered NOSCRIPT go again as EVAL in a
// second one, with the same results, and the next batch is one again.
func TestRedisBatchRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	r := &Redis{Address: []string{srv.Addr}, KeyPrefix: "batch:"}
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	warmUp(t, r)
	trips := countTrips(r)
	run := func(wantN int64, wantTrips float64) {
		t.Helper()
		before := testutil.ToFloat64(trips)
		ops := batchOps(4)
		if err := store.Batch(ctx, r, ops); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(ops)-1; i += 3 {
			inc, hit, get := ops[i], ops[i+1], ops[i+2]
			if inc.N != wantN || !hit.OK || string(get.Out) != fmt.Sprint(wantN) {
				t.Fatalf("op %d: incr %d, hit %v, get %q; want %d, true, %d", i, inc.N, hit.OK, get.Out, wantN, wantN)
			}
		}
		if got := testutil.ToFloat64(trips) - before; got != wantTrips {
			t.Errorf("%v round trips, want %v", got, wantTrips)
		}
	}
	run(1, 1)
	run(2, 1)
	if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	run(3, 2)
	run(4, 1)

	// A method alone is a round trip too.
	before := testutil.ToFloat64(trips)
	if _, _, err := r.Get(ctx, "k0"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(trips) - before; got != 1 {
		t.Errorf("Get: %v round trips, want 1", got)
	}
}

// On a cluster of three masters a batch whose keys lie on all three is
// still one call, each op answered by the node that owns its key, and a
// node that lost its scripts costs one more.
func TestRedisCluster3Batch(t *testing.T) {
	c := redistest.StartCluster3(t)
	r := &Redis{Address: c.Addrs(), KeyPrefix: "batch:"}
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	ops := batchOps(6)
	nodes := map[string]bool{}
	for _, op := range ops {
		nodes[c.NodeFor(t, r.key(op.Key)).Addr] = true
	}
	if len(nodes) != 3 {
		t.Fatalf("the batch's keys are on %d of the 3 nodes", len(nodes))
	}
	ctx := context.Background()
	warmUp(t, r)
	trips := countTrips(r)
	for round, flush := range []bool{false, true} {
		if flush {
			if _, err := c.Nodes[1].Do("SCRIPT", "FLUSH"); err != nil {
				t.Fatal(err)
			}
		}
		before := testutil.ToFloat64(trips)
		ops := batchOps(6)
		if err := store.Batch(ctx, r, ops); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(ops)-1; i += 3 {
			if ops[i].N != int64(round+1) || !ops[i+1].OK || string(ops[i+2].Out) != fmt.Sprint(round+1) {
				t.Fatalf("round %d op %d: %+v %+v %+v", round, i, ops[i], ops[i+1], ops[i+2])
			}
		}
		want := 1.0
		if flush {
			want = 2
		}
		if got := testutil.ToFloat64(trips) - before; got != want {
			t.Errorf("round %d: %v round trips, want %v", round, got, want)
		}
	}
}

// A store down fails every op of a batch, and the batch, closed.
func TestRedisBatchDown(t *testing.T) {
	srv := redistest.Start(t)
	r := &Redis{Address: []string{srv.Addr}, KeyPrefix: "batch:", Timeout: caddy.Duration(200 * time.Millisecond)}
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	ops := batchOps(2)
	if err := store.Batch(context.Background(), r, ops); err == nil {
		t.Fatal("a batch on a stopped Redis: no error")
	}
	for i, op := range ops {
		if op.Err == nil || op.Err == store.ErrNotFound {
			t.Errorf("op %d: err %v, want a failure", i, op.Err)
		}
	}
}

// The round-trip counter registers in a config's registry, and again in
// the same one (a reload) without an error.
func TestRegisterRoundTrips(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		c, err := registerRoundTrips(reg)
		if err != nil || c == nil {
			t.Fatalf("registerRoundTrips = %v, %v", c, err)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "caddy_phone_otp_store_round_trips_total"); err != nil || n != 1 {
		t.Errorf("gathered %d, %v", n, err)
	}
}

// When Redis knows some of a batch's scripts and not others, an op that
// cannot go again without a later op on its key having run first fails
// (the caller fails closed) rather than run out of order; the others go
// again as EVAL.
func TestRedisBatchNoScriptOrder(t *testing.T) {
	srv := redistest.Start(t)
	r := &Redis{Address: []string{srv.Addr}, KeyPrefix: "batch:"}
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	warmUp(t, r)
	if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("SCRIPT", "LOAD", getScript.src); err != nil {
		t.Fatal(err)
	}
	ops := []store.Op{
		{Kind: store.OpIncr, Key: "k", Delta: 1, TTL: time.Minute},
		{Kind: store.OpGet, Key: "k"},
		{Kind: store.OpIncr, Key: "j", Delta: 1, TTL: time.Minute},
		{Kind: store.OpGet, Key: "x"},
	}
	if err := store.Batch(context.Background(), r, ops); !errors.Is(err, errReordered) {
		t.Fatalf("Batch = %v, want errReordered", err)
	}
	if !errors.Is(ops[0].Err, errReordered) || !errors.Is(ops[1].Err, store.ErrNotFound) {
		t.Errorf("key k: %v, %v; want errReordered, and a Get that ran first", ops[0].Err, ops[1].Err)
	}
	if ops[2].Err != nil || ops[2].N != 1 {
		t.Errorf("key j: %+v, want 1", ops[2])
	}
}
