package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddyotp/caddyotp/store"
)

// scripted is how an op kind runs as one of the store's scripts: the
// script, its arguments after the key, and how its reply reads. A method
// called on its own (run) and a batch (Batch) share it, so an op's
// results decode the same way whichever way it was sent.
type scripted struct {
	script *lua
	args   func(op *store.Op) []any
	decode func(op *store.Op, cmd *goredis.Cmd, err error)
}

// scripts are the op kinds that run as scripts; Set and Delete are plain
// commands.
var scripts = map[store.OpKind]scripted{
	store.OpGet:   {getScript, noArgs, decodeGet},
	store.OpSetNX: {setNXScript, func(op *store.Op) []any { return []any{op.Val, millis(op.TTL)} }, decodeSetNX},
	store.OpIncr:  {incrScript, func(op *store.Op) []any { return []any{op.Delta, millis(op.TTL)} }, decodeIncr},
	store.OpHit: {hitScript, func(op *store.Op) []any {
		return []any{op.Limit, millis(op.Window), op.Gap.Microseconds()}
	}, decodeHit},
	store.OpUnhit:    {unhitScript, noArgs, decodeUnhit},
	store.OpAttach:   {attachScript, func(op *store.Op) []any { return []any{op.Val, millis(op.TTL)} }, decodeAttach},
	store.OpAttached: {attachedScript, noArgs, decodeAttached},
	store.OpDetach:   {detachScript, detachArgs, decodeDetach},
}

func noArgs(*store.Op) []any { return nil }

// lua is a script with its source, which loadScripts hands to SCRIPT
// LOAD (goredis.Script keeps it to itself).
type lua struct {
	*goredis.Script
	src string
}

func newLua(src string) *lua { return &lua{goredis.NewScript(src), src} }

// check refuses what the methods refuse before asking Redis: a TTL or a
// window that is not positive.
func check(op *store.Op) error {
	switch op.Kind {
	case store.OpSet, store.OpSetNX, store.OpIncr, store.OpAttach:
		if op.TTL <= 0 {
			return errRedisTTL
		}
	case store.OpHit:
		if op.Window <= 0 {
			return errRedisTTL
		}
	}
	return nil
}

// run makes one scripted op's call on its own: EVALSHA, and EVAL when
// Redis has not seen the script.
func (r *Redis) run(ctx context.Context, op *store.Op) {
	if op.Err = check(op); op.Err != nil {
		return
	}
	s := scripts[op.Kind]
	var cmd *goredis.Cmd
	err := r.call(ctx, func(ctx context.Context) error {
		cmd = s.script.Run(ctx, r.client, []string{r.key(op.Key)}, s.args(op)...)
		return cmd.Err()
	})
	s.decode(op, cmd, err)
}

// Batch runs ops in one pipeline: one round trip, whatever their number
// (on a Redis Cluster, go-redis sends each node its share at the same
// time, and each script's one key picks the node). See store.Batcher.
// Each op gets its own result or error, decoded as its method decodes
// it; an error reply to one op (a counter that is not an integer) leaves
// the others theirs.
//
// Scripts go as EVALSHA, which Redis knows from the SCRIPT LOAD each new
// connection makes (loadScripts). A Redis that has not seen one all the
// same (its scripts flushed while connected, or an ACL user denied
// SCRIPT LOAD) answers NOSCRIPT and runs nothing for that op; those ops
// go again as EVAL in a second pipeline, in their order. An op whose key
// a later op of the batch has already used in the first pipeline cannot
// go again without changing the order on that key: it fails instead
// (errReordered), and the caller fails closed.
func (r *Redis) Batch(ctx context.Context, ops []store.Op) error {
	if len(ops) == 0 {
		return nil // no round trip, and nothing for health to learn
	}
	cmds := make([]goredis.Cmder, len(ops))
	err := r.call(ctx, func(ctx context.Context) error {
		_, err := r.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i := range ops {
				cmds[i] = r.queue(ctx, p, &ops[i], false)
			}
			return nil
		})
		return pipelineErr(err, cmds)
	})
	var again []int
	if err == nil {
		again = rerun(ops, cmds)
	}
	if len(again) > 0 {
		err = r.call(ctx, func(ctx context.Context) error {
			_, err := r.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
				for _, i := range again {
					cmds[i] = r.queue(ctx, p, &ops[i], true)
				}
				return nil
			})
			return pipelineErr(err, cmds)
		})
	}
	for i := range ops {
		r.decode(&ops[i], cmds[i], err)
	}
	return store.FirstError(ops)
}

// errReordered is an op answered NOSCRIPT that cannot go again in order.
var errReordered = errors.New("store: redis: batch: scripts flushed during the batch")

// rerun returns the ops answered NOSCRIPT that can go again: those whose
// key no later op used. The others get a command that fails with
// errReordered.
func rerun(ops []store.Op, cmds []goredis.Cmder) []int {
	var again []int
	used := map[string]bool{} // keys that later ops ran on
	for i := len(ops) - 1; i >= 0; i-- {
		c := cmds[i]
		if c == nil {
			continue
		}
		if !goredis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			used[ops[i].Key] = true
			continue
		}
		if used[ops[i].Key] {
			c.SetErr(errReordered)
			continue
		}
		again = append(again, i)
	}
	slices.Reverse(again)
	return again
}

// loadScripts loads the scripts on a new connection, in one round trip,
// so that a batch's EVALSHA finds them. A failure is left to the
// batches' NOSCRIPT fallback.
func loadScripts(ctx context.Context, cn *goredis.Conn) {
	_, _ = cn.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, s := range scripts {
			p.ScriptLoad(ctx, s.script.src)
		}
		return nil
	})
}

// queue adds op's command to p, as EVAL when eval, else EVALSHA for a
// script; nil for an op check refuses.
func (r *Redis) queue(ctx context.Context, p goredis.Pipeliner, op *store.Op, eval bool) goredis.Cmder {
	if check(op) != nil {
		return nil
	}
	key := r.key(op.Key)
	switch op.Kind {
	case store.OpSet:
		return p.Set(ctx, key, op.Val, time.Duration(millis(op.TTL))*time.Millisecond)
	case store.OpDelete:
		return p.Del(ctx, key)
	}
	s, ok := scripts[op.Kind]
	if !ok {
		return nil
	}
	if eval {
		return s.script.Eval(ctx, p, []string{key}, s.args(op)...)
	}
	return s.script.EvalSha(ctx, p, []string{key}, s.args(op)...)
}

// decode fills op from its command. callErr is the batch's own failure
// (Redis unreachable, or the client closed), which every op shares.
func (r *Redis) decode(op *store.Op, cmd goredis.Cmder, callErr error) {
	if op.Err = check(op); op.Err != nil {
		return
	}
	if cmd == nil {
		op.Err = fmt.Errorf("store: redis: batch: unknown op kind %d", op.Kind)
		if callErr != nil {
			op.Err = fmt.Errorf("store: redis: batch: %w", callErr)
		}
		return
	}
	err := cmd.Err()
	if callErr != nil && (err == nil || isOutage(err)) {
		err = callErr // with the deadline's explanation, when it was that
	}
	switch op.Kind {
	case store.OpSet:
		if err != nil {
			op.Err = fmt.Errorf("store: redis: set: %w", err)
		}
	case store.OpDelete:
		if err != nil {
			op.Err = fmt.Errorf("store: redis: delete: %w", err)
		}
	default:
		c, _ := cmd.(*goredis.Cmd)
		scripts[op.Kind].decode(op, c, err)
	}
}

// pipelineErr is what a pipeline tells the store's health: the first
// command's failure to reach Redis, if one failed so. Error replies (a
// NOSCRIPT, a counter that is not an integer) and nil replies are
// answers, each its op's own.
func pipelineErr(err error, cmds []goredis.Cmder) error {
	if err == nil || isOutage(err) {
		return err
	}
	for _, c := range cmds {
		if c != nil && c.Err() != nil && isOutage(c.Err()) {
			return c.Err()
		}
	}
	return nil
}

// Interface guard
var _ store.Batcher = (*Redis)(nil)
