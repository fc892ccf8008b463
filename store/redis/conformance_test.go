package redis

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/storetest"
)

func TestRedisConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, redisHarness(t, srv.Addr, Redis{Address: []string{srv.Addr}}))
}

// TestRedisClusterConformance runs the suite through go-redis's cluster
// client (two seed addresses for one node), where a multi-key command
// whose keys hash to different slots is refused.
func TestRedisClusterConformance(t *testing.T) {
	srv := redistest.StartCluster(t)
	storetest.Run(t, redisHarness(t, srv.Addr, Redis{Address: []string{srv.Addr, fmt.Sprintf("localhost:%d", srv.Port)}}))
}

// TestRedisCluster3Conformance runs the suite on a real cluster of three
// masters, each holding a third of the slots: every compound decision is
// one script on one key, so each runs atomically on the node that owns
// its key; and the suite's keys do land on all three nodes.
func TestRedisCluster3Conformance(t *testing.T) {
	c := redistest.StartCluster3(t)
	storetest.Run(t, redisHarness(t, c.Nodes[0].Addr, Redis{Address: c.Addrs()}, c.Nodes[1].Addr, c.Nodes[2].Addr))
	seen := map[string]bool{}
	for i := range 30 {
		seen[c.NodeFor(t, fmt.Sprintf("test:key%d", i)).Addr] = true
	}
	if len(seen) != 3 {
		t.Errorf("30 keys hashed onto %d of the 3 nodes", len(seen))
	}
}

// redisHarness makes Redis stores with a key prefix of their own on one
// server. Time passes by shortening every TTL under the prefix and moving
// back the time of the last event in each Hit window (the store's own
// format: a hash whose field last is microseconds on Redis's clock): that
// is all the passing of time does to the store's keys. The slack allows
// for the real time between a call and the check of its result.
// With several admin addresses (the masters of a cluster), each is
// walked for the keys it holds.
func redisHarness(t *testing.T, adminAddr string, cfg Redis, moreAdmins ...string) storetest.Harness {
	var admins []*goredis.Client
	for _, a := range append([]string{adminAddr}, moreAdmins...) {
		admin := goredis.NewClient(&goredis.Options{Addr: a})
		t.Cleanup(func() { admin.Close() })
		admins = append(admins, admin)
	}
	var seq int
	var mu sync.Mutex
	return storetest.Harness{
		Slack: time.Second,
		New: func(t *testing.T) (store.Store, func(time.Duration)) {
			mu.Lock()
			seq++
			prefix := fmt.Sprintf("test:%s:%d:", regexp.MustCompile(`\W+`).ReplaceAllString(t.Name(), "-"), seq)
			mu.Unlock()
			r := cfg // a copy
			r.Address = append([]string(nil), cfg.Address...)
			r.KeyPrefix = prefix
			provisionRedis(t, &r)
			advance := func(d time.Duration) {
				for _, admin := range admins {
					advanceOn(t, admin, prefix, d)
				}
			}
			return &r, advance
		},
	}
}

// advanceOn passes d on the keys under prefix that admin's node holds.
func advanceOn(t *testing.T, admin *goredis.Client, prefix string, d time.Duration) {
	ctx := context.Background()
	iter := admin.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		left, err := admin.PTTL(ctx, k).Result()
		if err != nil || left < 0 {
			t.Fatalf("key %q: TTL %v %v: every key must have one", k, left, err)
		}
		if left <= d {
			admin.Del(ctx, k)
			continue
		}
		admin.PExpire(ctx, k, left-d)
		if admin.Type(ctx, k).Val() == "hash" && admin.HExists(ctx, k, "last").Val() {
			admin.HIncrBy(ctx, k, "last", -d.Microseconds())
		}
		if admin.Type(ctx, k).Val() == "hash" && admin.HExists(ctx, k, "until").Val() {
			admin.HIncrBy(ctx, k, "until", -d.Microseconds())
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

func provisionRedis(t *testing.T, r *Redis) *Redis {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := r.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Cleanup() })
	return r
}

// TestRedisSentinelConformance runs the suite through a Sentinel: the
// store is given only the Sentinel's address and master_name, and finds
// the master through it (a Sentinel itself refuses GET and SET).
func TestRedisSentinelConformance(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	storetest.Run(t, redisHarness(t, master.Addr, Redis{
		Address: []string{sentinel.Addr}, MasterName: redistest.SentinelMaster,
	}))
}
