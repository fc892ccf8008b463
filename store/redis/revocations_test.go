package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/store/storetest"
)

// eventually polls ok for up to 10s: the tests wait for what the
// subscription does, they do not time it.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func subscribed(t *testing.T, r *Redis) *storetest.Recorder {
	t.Helper()
	rec := &storetest.Recorder{}
	t.Cleanup(r.Subscribe(rec))
	eventually(t, "the subscription", func() bool { live, _, _, _ := rec.State(); return live })
	return rec
}

// checkPushed: a revocation made through one store reaches the watcher
// of another on the same Redis and key prefix (and the record is in
// Redis), and not the watcher of a store with another prefix.
func checkPushed(t *testing.T, cfg func(prefix string) *Redis) {
	a, b, other := cfg("t:push:"), cfg("t:push:"), cfg("t:other:")
	a.own = true // another Caddy process: a client of its own
	for _, r := range []*Redis{a, b, other} {
		if err := provision(t, r); err != nil {
			t.Fatal(err)
		}
	}
	rb, ro := subscribed(t, b), subscribed(t, other)
	ctx := context.Background()
	for i := range 20 {
		if err := a.Revoke(ctx, fmt.Sprintf("ns:rev:jti%d", i), []byte("v"+fmt.Sprint(i)), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "20 revocations pushed", func() bool { _, _, _, got := rb.State(); return len(got) == 20 })
	_, _, _, got := rb.State()
	for i, g := range got {
		if want := fmt.Sprintf("ns:rev:jti%d=v%d", i, i); g != want {
			t.Errorf("revocation %d: %q, want %q (in order)", i, g, want)
		}
	}
	if rb.LastTTL() != time.Minute {
		t.Errorf("pushed TTL %v, want 1m", rb.LastTTL())
	}
	if v, ttl, err := b.Get(ctx, "ns:rev:jti3"); err != nil || string(v) != "v3" || ttl <= 0 {
		t.Errorf("the durable record: %q %v %v", v, ttl, err)
	}
	if _, _, _, got := ro.State(); len(got) != 0 {
		t.Errorf("a store with another key prefix heard %v", got)
	}
}

func TestRedisRevocationsPushed(t *testing.T) {
	srv := redistest.Start(t)
	checkPushed(t, func(p string) *Redis { return &Redis{Address: []string{srv.Addr}, KeyPrefix: p} })
}

func TestRedisSentinelRevocationsPushed(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	checkPushed(t, func(p string) *Redis {
		return &Redis{Address: []string{sentinel.Addr}, MasterName: redistest.SentinelMaster, KeyPrefix: p}
	})
}

func TestRedisClusterRevocationsPushed(t *testing.T) {
	c := redistest.StartCluster3(t)
	checkPushed(t, func(p string) *Redis { return &Redis{Address: c.Addrs(), KeyPrefix: p} })
}

// TestRedisRevocationsGap: a Redis that goes away (killed) or stops
// answering (frozen) makes the subscription not live, and it is live
// again once Redis is back; a revocation cannot be written meanwhile.
func TestRedisRevocationsGap(t *testing.T) {
	srv := redistest.Start(t)
	r := &Redis{Address: []string{srv.Addr}, KeyPrefix: "t:gap:", Timeout: caddy.Duration(200 * time.Millisecond)}
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	rec := subscribed(t, r)
	notLive := func() bool { live, _, _, _ := rec.State(); return !live }
	isLive := func() bool { live, _, _, _ := rec.State(); return live }

	srv.Stop()
	eventually(t, "the lost subscription to be noticed", notLive)
	if err := r.Revoke(context.Background(), "ns:rev:x", []byte{1}, time.Minute); err == nil {
		t.Error("a revocation was reported written with Redis down")
	}
	srv.Restart()
	eventually(t, "the subscription to come back", isLive)

	// Frozen: the connection stays open, only the pings go unanswered.
	srv.Freeze()
	eventually(t, "a frozen Redis to be noticed", notLive)
	srv.Thaw()
	eventually(t, "the subscription to come back after a freeze", isLive)
	// (A loaded machine may add a flap of its own: a ping answered late
	// is a subscription in doubt, and that is right.)
	if _, ups, downs, _ := rec.State(); ups < 3 || downs < 2 || ups != downs+1 {
		t.Errorf("ups %d downs %d, want 3 and 2 or more, and live", ups, downs)
	}

	// And it works again.
	if err := r.Revoke(context.Background(), "ns:rev:y", []byte{1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the revocation after the gaps", func() bool { _, _, _, got := rec.State(); return len(got) == 1 })

	// Cleanup ends the subscription: the watcher is told.
	if err := r.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if !notLive() {
		t.Error("still live after Cleanup")
	}
}

func TestRevocationEncoding(t *testing.T) {
	for _, tt := range []struct {
		key string
		val []byte
		ttl time.Duration
	}{{"ns:rev:abc", []byte{1}, time.Minute}, {"ns x:revphone:+12015550123", []byte("1700000000"), time.Millisecond}} {
		k, v, ttl, ok := decodeRevocation(encodeRevocation(tt.key, tt.val, tt.ttl))
		if !ok || k != tt.key || string(v) != string(tt.val) || ttl != tt.ttl {
			t.Errorf("round trip of %q: %q %q %v %v", tt.key, k, v, ttl, ok)
		}
	}
	for _, bad := range []string{"", "x", "1 AQ", "0 AQ k", "-5 AQ k", "10 !! k", "10 AQ "} {
		if _, _, _, ok := decodeRevocation(bad); ok {
			t.Errorf("%q decoded", bad)
		}
	}
}

// TestRedisClusterFailover: a Redis Cluster of three masters, each with a
// replica. The master that holds the revocation channel's shard is killed
// while an instance is subscribed: the subscription is not live at once
// (so sessions are checked in Redis until it is back), the replica is
// promoted, and the subscription comes back on it. The revocations and a
// rate-limit window written before the kill are still there, and
// decisions go on: a revocation made after it is pushed, the window keeps
// counting.
func TestRedisClusterFailover(t *testing.T) {
	c := redistest.StartClusterReplicated(t)
	cfg := func() *Redis {
		return &Redis{Address: c.Addrs(), KeyPrefix: "t:fo:", Timeout: caddy.Duration(300 * time.Millisecond)}
	}
	a, b := cfg(), cfg()
	for _, r := range []*Redis{a, b} {
		if err := provision(t, r); err != nil {
			t.Fatal(err)
		}
	}
	rec := subscribed(t, b)
	ctx := context.Background()
	// Enough keys that some live on the master about to die.
	const n = 30
	for i := range n {
		if err := a.Revoke(ctx, fmt.Sprintf("ns:rev:before%d", i), []byte{1}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := a.Hit(ctx, fmt.Sprintf("ns:p:%d", i), 3, time.Hour, 0); err != nil || !ok {
			t.Fatalf("hit %d: %v %v", i, ok, err)
		}
	}
	eventually(t, "the revocations pushed", func() bool { _, _, _, got := rec.State(); return len(got) == n })
	c.CaughtUp(t)
	owner := c.NodeFor(t, a.channel())
	_, ups, downs, _ := rec.State()

	owner.Stop()
	killed := time.Now()
	eventually(t, "the lost subscription to be noticed", func() bool { live, _, d, _ := rec.State(); return !live && d > downs })
	noticed := time.Since(killed)
	eventually(t, "the subscription back on the promoted replica", func() bool { live, u, _, _ := rec.State(); return live && u > ups })
	t.Logf("subscription lost %v after the kill, back %v after it", noticed.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	if promoted := c.NodeFor(t, a.channel()); promoted == owner || promoted.Role() != "master" {
		t.Fatalf("the channel's shard is on %s (%s), want the promoted replica", promoted.Addr, promoted.Role())
	}

	// A client may need a moment to learn the new layout: the first
	// revocation is retried until the cluster takes it, as a logout
	// answered 503 would be by the visitor.
	eventually(t, "a revocation taken after the failover", func() bool {
		return a.Revoke(ctx, "ns:rev:after", []byte{2}, time.Minute) == nil
	})
	eventually(t, "the revocation after the failover pushed", func() bool {
		_, _, _, got := rec.State()
		return len(got) > n && got[len(got)-1] == "ns:rev:after=\x02"
	})
	for i := range n {
		if v, _, err := b.Get(ctx, fmt.Sprintf("ns:rev:before%d", i)); err != nil || string(v) != "\x01" {
			t.Errorf("revocation %d after the failover: %q %v", i, v, err)
		}
		if count, _, err := b.Window(ctx, fmt.Sprintf("ns:p:%d", i)); err != nil || count != 1 {
			t.Errorf("window %d after the failover: %d %v, want 1", i, count, err)
		}
		if ok, _, err := b.Hit(ctx, fmt.Sprintf("ns:p:%d", i), 3, time.Hour, 0); err != nil || !ok {
			t.Errorf("hit %d after the failover: %v %v", i, ok, err)
		}
		if count, _, err := a.Window(ctx, fmt.Sprintf("ns:p:%d", i)); err != nil || count != 2 {
			t.Errorf("window %d after a second hit: %d %v, want 2", i, count, err)
		}
	}
}
