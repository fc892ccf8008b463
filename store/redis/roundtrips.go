package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
)

// roundTrips counts the store's round trips to Redis: one per command
// sent on its own, one per pipeline (a batch, a MULTI/EXEC), however many
// commands it holds; on a Redis Cluster a pipeline split over several
// nodes, which go-redis sends to them at the same time, is one. It is
// what a sign-in costs in waiting on Redis, for operators and the bench
// (docs/performance.md). A package global registered in each config's
// registry, like dataLost.
var roundTrips = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "caddy", Subsystem: "phone_otp", Name: "store_round_trips_total",
	Help: "Round trips to the Redis store: one per command sent alone, one per pipeline.",
})

// registerRoundTrips registers roundTrips in reg (nil: counts unexposed),
// or returns the equal collector reg already holds.
func registerRoundTrips(reg *prometheus.Registry) (prometheus.Counter, error) {
	if reg == nil {
		return roundTrips, nil
	}
	err := reg.Register(roundTrips)
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
		return roundTrips, nil
	case errors.As(err, &are):
		if c, ok := are.ExistingCollector.(prometheus.Counter); ok {
			return c, nil
		}
	}
	return nil, fmt.Errorf("metrics: %w", err)
}

// addRoundTripHook has client count its round trips in c. The hook is
// all it adds, so it works on any client, one kept across config reloads
// too; add it once per client, when the client is made, or each round
// trip counts once per hook. On a cluster client it counts at the
// cluster's level, where a pipeline is one call whatever nodes it
// reaches.
func addRoundTripHook(client goredis.UniversalClient, c prometheus.Counter) {
	client.AddHook(roundTripHook{c})
}

// roundTripHook is a go-redis hook that counts each command processed
// alone and each pipeline once.
type roundTripHook struct{ c prometheus.Counter }

// DialHook counts nothing: a new connection's handshake is the client's
// own, not a store call's.
func (h roundTripHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

// ProcessHook counts a command sent alone.
func (h roundTripHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.c.Inc()
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts a pipeline, or a MULTI/EXEC, once.
func (h roundTripHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.c.Inc()
		return next(ctx, cmds)
	}
}

// Interface guard
var _ goredis.Hook = roundTripHook{}
