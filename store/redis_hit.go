package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A Hit window is a hash with two fields: n, the events counted, and last,
// the time of the last allowed event in microseconds on Redis's own clock
// (TIME), so that every instance measures the gap on one clock; last is
// absent when Unhit has lifted the gap. The key's TTL is the window.
var (
	// hitScript records one event if the limit and the gap allow it. It
	// answers {1, 0} when allowed, else {0, microseconds to wait}.
	hitScript = redis.NewScript(`
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
	unhitScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0
redis.call('HSET', KEYS[1], 'n', math.max(n - 1, 0))
redis.call('HDEL', KEYS[1], 'last')
return 1
`)

	// windowScript answers {n, ttl in ms}, or nil with no window.
	windowScript = redis.NewScript(`
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
	if errors.Is(err, redis.Nil) {
		return 0, 0, ErrNotFound
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
var _ WindowReader = (*Redis)(nil)
