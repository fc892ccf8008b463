package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddyotp/caddyotp/store"
)

// A Hit window is a hash with two fields: n, the events counted, and last,
// the time of the last allowed event in microseconds on Redis's own clock
// (TIME), so that every instance measures the gap on one clock; last is
// absent when Unhit has lifted the gap. The key's TTL is the window.
var (
	// hitScript records one event if the limit and the gap allow it. It
	// answers {1, 0} when allowed, else {0, microseconds to wait}.
	hitScript = goredis.NewScript(`
local limit, window, gap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local left = redis.call('PTTL', KEYS[1])
local n = 0
if left == -2 then
  left = window
else
  local v = redis.call('HMGET', KEYS[1], 'n', 'last')
  n = tonumber(v[1]) or 0
  local last = tonumber(v[2])
  if last and gap > 0 and now - last < gap then
    return {0, gap - (now - last)}
  end
  if left < 0 then
    redis.call('PEXPIRE', KEYS[1], window)
    left = window
  end
end
if n >= limit then
  return {0, left * 1000}
end
redis.call('HSET', KEYS[1], 'n', n + 1, 'last', now)
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
end
return {1, 0}
`)

	// unhitScript takes back the last allowed event: one fewer counted,
	// and no gap. Changing fields keeps the key's TTL.
	unhitScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0
redis.call('HSET', KEYS[1], 'n', math.max(n - 1, 0))
redis.call('HDEL', KEYS[1], 'last')
return 1
`)

	// windowScript answers {n, ttl in ms}, or nil with no window.
	windowScript = goredis.NewScript(`
local left = redis.call('PTTL', KEYS[1])
if left == -2 then return false end
return {tonumber(redis.call('HGET', KEYS[1], 'n')) or 0, left}
`)
)

// Hit records one event under key if limit and gap allow it; see
// Store.Hit. The check and the record are one script, so parallel sends
// on any number of instances never get more than limit events a window.
func (r *Redis) Hit(ctx context.Context, key string, limit int64, window, gap time.Duration) (bool, time.Duration, error) {
	if window <= 0 {
		return false, 0, errRedisTTL
	}
	var res []int64
	err := r.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = hitScript.Run(ctx, r.client, []string{r.key(key)},
			limit, millis(window), gap.Microseconds()).Int64Slice()
		return err
	})
	if err != nil {
		return false, 0, fmt.Errorf("store: redis: hit: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("store: redis: hit: unexpected reply %v", res)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(max(res[1], 0)) * time.Microsecond, nil
}

// Unhit takes back the last allowed Hit under key; see Store.Unhit.
func (r *Redis) Unhit(ctx context.Context, key string) error {
	err := r.call(ctx, func(ctx context.Context) error {
		return unhitScript.Run(ctx, r.client, []string{r.key(key)}).Err()
	})
	if err != nil {
		return fmt.Errorf("store: redis: unhit: %w", err)
	}
	return nil
}

// Window reads the Hit window under key; see WindowReader.
func (r *Redis) Window(ctx context.Context, key string) (int64, time.Duration, error) {
	var res []int64
	err := r.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = windowScript.Run(ctx, r.client, []string{r.key(key)}).Int64Slice()
		return err
	})
	if errors.Is(err, goredis.Nil) {
		return 0, 0, store.ErrNotFound
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: redis: window: %w", err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("store: redis: window: unexpected reply %v", res)
	}
	return res[0], fromMillis(res[1]), nil
}

// Interface guard
var _ store.WindowReader = (*Redis)(nil)

// A value attached to a window is two more fields of its hash: v, the
// value, and until, when it ends in microseconds on Redis's clock.
var (
	// attachScript answers 0 when there is no window, else 1.
	attachScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ttl = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'until', now + ttl * 1000)
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
`)

	// attachedScript answers {value, microseconds left}, or nil.
	attachedScript = goredis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'v', 'until')
if not v[1] then return false end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local left = (tonumber(v[2]) or 0) - now
if left <= 0 then return false end
return {v[1], left}
`)

	// detachScript removes the value if it is ARGV[1] (any, when ARGV[2]
	// is "any"); answers 1 if it did.
	detachScript = goredis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'v', 'until')
if not v[1] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if (tonumber(v[2]) or 0) <= now then return 0 end
if ARGV[2] ~= 'any' and v[1] ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'v', 'until')
return 1
`)
)

// Attach keeps val with the window under key; see Store.Attach.
func (r *Redis) Attach(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errRedisTTL
	}
	var res int64
	err := r.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = attachScript.Run(ctx, r.client, []string{r.key(key)}, val, millis(ttl)).Int64()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: redis: attach: %w", err)
	}
	if res == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Attached returns the value attached to the window under key; see
// Store.Attached.
func (r *Redis) Attached(ctx context.Context, key string) ([]byte, time.Duration, error) {
	var res []any
	err := r.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = attachedScript.Run(ctx, r.client, []string{r.key(key)}).Slice()
		return err
	})
	if errors.Is(err, goredis.Nil) {
		return nil, 0, store.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: redis: attached: %w", err)
	}
	if len(res) != 2 {
		return nil, 0, fmt.Errorf("store: redis: attached: unexpected reply %v", res)
	}
	v, ok1 := res[0].(string)
	left, ok2 := res[1].(int64)
	if !ok1 || !ok2 {
		return nil, 0, fmt.Errorf("store: redis: attached: unexpected reply %v", res)
	}
	return []byte(v), time.Duration(left) * time.Microsecond, nil
}

// Detach removes the value attached to the window under key if it equals
// val (any, if val is nil); see Store.Detach.
func (r *Redis) Detach(ctx context.Context, key string, val []byte) (bool, error) {
	mode := "equal"
	if val == nil {
		mode = "any"
	}
	var res int64
	err := r.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = detachScript.Run(ctx, r.client, []string{r.key(key)}, val, mode).Int64()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: redis: detach: %w", err)
	}
	return res == 1, nil
}
