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
	hitScript = newLua(`
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
	unhitScript = newLua(`
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
	op := store.Op{Kind: store.OpHit, Key: key, Limit: limit, Window: window, Gap: gap}
	r.run(ctx, &op)
	return op.OK, op.Left, op.Err
}

// decodeHit reads hitScript's reply into op.
func decodeHit(op *store.Op, cmd *goredis.Cmd, err error) {
	if err != nil {
		op.Err = fmt.Errorf("store: redis: hit: %w", err)
		return
	}
	res, err := cmd.Int64Slice()
	switch {
	case err != nil:
		op.Err = fmt.Errorf("store: redis: hit: %w", err)
	case len(res) != 2:
		op.Err = fmt.Errorf("store: redis: hit: unexpected reply %v", res)
	case res[0] == 1:
		op.OK = true
	default:
		op.Left = time.Duration(max(res[1], 0)) * time.Microsecond
	}
}

// Unhit takes back the last allowed Hit under key; see Store.Unhit.
func (r *Redis) Unhit(ctx context.Context, key string) error {
	op := store.Op{Kind: store.OpUnhit, Key: key}
	r.run(ctx, &op)
	return op.Err
}

// decodeUnhit reads unhitScript's reply into op.
func decodeUnhit(op *store.Op, _ *goredis.Cmd, err error) {
	if err != nil {
		op.Err = fmt.Errorf("store: redis: unhit: %w", err)
	}
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
	attachScript = newLua(`
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
	attachedScript = newLua(`
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
	detachScript = newLua(`
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
	op := store.Op{Kind: store.OpAttach, Key: key, Val: val, TTL: ttl}
	r.run(ctx, &op)
	return op.Err
}

// decodeAttach reads attachScript's reply into op.
func decodeAttach(op *store.Op, cmd *goredis.Cmd, err error) {
	if err != nil {
		op.Err = fmt.Errorf("store: redis: attach: %w", err)
		return
	}
	res, err := cmd.Int64()
	switch {
	case err != nil:
		op.Err = fmt.Errorf("store: redis: attach: %w", err)
	case res == 0:
		op.Err = store.ErrNotFound
	}
}

// Attached returns the value attached to the window under key; see
// Store.Attached.
func (r *Redis) Attached(ctx context.Context, key string) ([]byte, time.Duration, error) {
	op := store.Op{Kind: store.OpAttached, Key: key}
	r.run(ctx, &op)
	return op.Out, op.Left, op.Err
}

// decodeAttached reads attachedScript's reply into op.
func decodeAttached(op *store.Op, cmd *goredis.Cmd, err error) {
	if errors.Is(err, goredis.Nil) {
		op.Err = store.ErrNotFound
		return
	}
	if err != nil {
		op.Err = fmt.Errorf("store: redis: attached: %w", err)
		return
	}
	res, _ := cmd.Slice()
	if len(res) == 2 {
		v, ok1 := res[0].(string)
		left, ok2 := res[1].(int64)
		if ok1 && ok2 {
			op.Out, op.Left = []byte(v), time.Duration(left)*time.Microsecond
			return
		}
	}
	op.Err = fmt.Errorf("store: redis: attached: unexpected reply %v", res)
}

// Detach removes the value attached to the window under key if it equals
// val (any, if val is nil); see Store.Detach.
func (r *Redis) Detach(ctx context.Context, key string, val []byte) (bool, error) {
	op := store.Op{Kind: store.OpDetach, Key: key, Val: val}
	r.run(ctx, &op)
	return op.OK, op.Err
}

// detachArgs are detachScript's arguments: the value, and whether any
// value will do.
func detachArgs(op *store.Op) []any {
	mode := "equal"
	if op.Val == nil {
		mode = "any"
	}
	return []any{op.Val, mode}
}

// decodeDetach reads detachScript's reply into op.
func decodeDetach(op *store.Op, cmd *goredis.Cmd, err error) {
	if err != nil {
		op.Err = fmt.Errorf("store: redis: detach: %w", err)
		return
	}
	res, err := cmd.Int64()
	if err != nil {
		op.Err = fmt.Errorf("store: redis: detach: %w", err)
		return
	}
	op.OK = res == 1
}
