package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddyotp/caddyotp/store"
)

// Each compound operation is one Lua script, which Redis runs atomically:
// no other client's command runs between its reads and writes, whichever
// Caddy instance sent it. Every script touches one key, so they run
// unchanged on a Redis Cluster. go-redis sends them with EVALSHA and falls
// back to EVAL when Redis has not seen them (after a restart, say).
var (
	// getScript reads a value and its TTL in one step, so the TTL belongs
	// to the value returned.
	getScript = newLua(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
`)

	// setNXScript stores ARGV[1] for ARGV[2] ms if KEYS[1] is absent, and
	// answers 1; else the existing key's remaining TTL in ms, made 0 or
	// more. A key found without a TTL (written by something else) is given
	// one, so that nothing lives forever.
	setNXScript = newLua(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return -1
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(ARGV[2])
end
return ttl
`)

	// incrScript adds ARGV[1] to the counter KEYS[1] and answers {value,
	// remaining ttl}, or {value, -1} when the counter is new and lives
	// ARGV[2] ms; an existing one keeps its deadline (a fixed window).
	// INCRBY refuses a non-integer value and an overflow, and the script
	// stops there with nothing changed.
	incrScript = newLua(`
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {n, -1}
end
return {n, ttl}
`)

	// compareAndDeleteScript deletes KEYS[1] only if it holds ARGV[1].
	compareAndDeleteScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)
)

var errRedisTTL = errors.New("store: redis: ttl must be positive")

// Get returns the value under key and its remaining TTL, or ErrNotFound.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, time.Duration, error) {
	op := store.Op{Kind: store.OpGet, Key: key}
	r.run(ctx, &op)
	return op.Out, op.Left, op.Err
}

// decodeGet reads getScript's reply into op, for Get and a batch alike.
func decodeGet(op *store.Op, cmd *goredis.Cmd, err error) {
	if errors.Is(err, goredis.Nil) {
		op.Err = store.ErrNotFound
		return
	}
	if err != nil {
		op.Err = fmt.Errorf("store: redis: get: %w", err)
		return
	}
	res, _ := cmd.Slice()
	if len(res) == 2 {
		val, ok1 := res[0].(string)
		ttl, ok2 := res[1].(int64)
		if ok1 && ok2 {
			op.Out, op.Left = []byte(val), fromMillis(ttl)
			return
		}
	}
	op.Err = fmt.Errorf("store: redis: get: unexpected reply %v", res)
}

// Set stores val under key for ttl, replacing any value and TTL.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errRedisTTL
	}
	err := r.call(ctx, func(ctx context.Context) error {
		return r.client.Set(ctx, r.key(key), val, time.Duration(millis(ttl))*time.Millisecond).Err()
	})
	if err != nil {
		return fmt.Errorf("store: redis: set: %w", err)
	}
	return nil
}

// SetNX stores val under key for ttl only if key is absent. When it
// stores, it returns ttl; when it does not, the existing key's remaining
// TTL.
func (r *Redis) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, time.Duration, error) {
	op := store.Op{Kind: store.OpSetNX, Key: key, Val: val, TTL: ttl}
	r.run(ctx, &op)
	return op.OK, op.Left, op.Err
}

// decodeSetNX reads setNXScript's reply into op.
func decodeSetNX(op *store.Op, cmd *goredis.Cmd, err error) {
	if err != nil {
		op.Err = fmt.Errorf("store: redis: setnx: %w", err)
		return
	}
	left, err := cmd.Int64()
	switch {
	case err != nil:
		op.Err = fmt.Errorf("store: redis: setnx: %w", err)
	case left < 0:
		op.OK, op.Left = true, op.TTL
	default:
		op.Left = fromMillis(left)
	}
}

// Incr adds delta to the counter under key and returns the new value and
// its remaining TTL. An absent key starts at 0 and lives for ttl; an
// existing key keeps its deadline (a fixed window). A value that is not a
// decimal integer, or a sum past int64, is an error and changes nothing.
func (r *Redis) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, time.Duration, error) {
	op := store.Op{Kind: store.OpIncr, Key: key, Delta: delta, TTL: ttl}
	r.run(ctx, &op)
	return op.N, op.Left, op.Err
}

// decodeIncr reads incrScript's reply into op.
func decodeIncr(op *store.Op, cmd *goredis.Cmd, err error) {
	if err != nil {
		op.Err = fmt.Errorf("store: redis: incr: %w", err)
		return
	}
	res, err := cmd.Int64Slice()
	switch {
	case err != nil:
		op.Err = fmt.Errorf("store: redis: incr: %w", err)
	case len(res) != 2:
		op.Err = fmt.Errorf("store: redis: incr: unexpected reply %v", res)
	case res[1] < 0:
		op.N, op.Left = res[0], op.TTL
	default:
		op.N, op.Left = res[0], fromMillis(res[1])
	}
}

// CompareAndDelete deletes key only if its value equals val, and reports
// whether it did. Of two racing callers, at most one sees true.
func (r *Redis) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	var n int64
	err := r.call(ctx, func(ctx context.Context) error {
		var err error
		n, err = compareAndDeleteScript.Run(ctx, r.client, []string{r.key(key)}, val).Int64()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: redis: compare and delete: %w", err)
	}
	return n == 1, nil
}

// Delete removes the keys; absent keys are not an error. On a single
// server or Sentinel it is one DEL, atomic for all the keys. A Redis
// Cluster refuses a multi-key DEL whose keys lie in different hash slots,
// so there each key gets its own DEL, sent together in one pipeline.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.key(k)
	}
	err := r.call(ctx, func(ctx context.Context) error {
		if !r.cluster || len(full) == 1 {
			return r.client.Del(ctx, full...).Err()
		}
		_, err := r.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range full {
				p.Del(ctx, k)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("store: redis: delete: %w", err)
	}
	return nil
}

// Keys returns the live keys that begin with prefix, without the store's
// key_prefix; see Lister. It walks the keyspace with SCAN (on every master
// of a cluster), each page within the store's timeout: it is for the admin
// API, never the request path.
func (r *Redis) Keys(ctx context.Context, prefix string) ([]string, error) {
	match := globEscape(r.prefix+prefix) + "*"
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c goredis.Cmdable) error {
		var cursor uint64
		for {
			var page []string
			err := r.call(ctx, func(ctx context.Context) error {
				var err error
				page, cursor, err = c.Scan(ctx, cursor, match, 1000).Result()
				return err
			})
			if err != nil {
				return err
			}
			mu.Lock()
			for _, k := range page {
				if k = strings.TrimPrefix(k, r.prefix); k != markerKey {
					keys = append(keys, k) // the marker is the store's own
				}
			}
			mu.Unlock()
			if cursor == 0 {
				return nil
			}
		}
	}
	var err error
	if cc, ok := r.client.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else if r.client != nil {
		err = scan(ctx, r.client)
	} else {
		err = errRedisUnavailable
	}
	if err != nil {
		return nil, fmt.Errorf("store: redis: keys: %w", err)
	}
	return keys, nil
}

// globEscape quotes the characters SCAN MATCH gives a meaning to, so that
// a prefix is matched literally.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (r *Redis) key(k string) string { return r.prefix + k }

// Interface guard
var _ store.Lister = (*Redis)(nil)

// millis is ttl in whole milliseconds, rounded up: Redis keeps TTLs in
// milliseconds, and a TTL under 1ms must not become 0 (refused by Redis).
func millis(ttl time.Duration) int64 {
	return int64((ttl + time.Millisecond - 1) / time.Millisecond)
}

// fromMillis turns a PTTL reply into a Duration. PTTL's -1 (no TTL) and
// -2 (no key) cannot reach it from the scripts above; they read as 0.
func fromMillis(ms int64) time.Duration {
	if ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
