// Package caddystorage is how the stores reach Caddy's storage.
package caddystorage

import (
	"context"

	"github.com/caddyserver/caddy/v2"
)

// Storage is the part of certmagic.Storage (Caddy's storage) the stores
// need: the memory store keeps its durable entries there, the Redis store
// the marker it watches for a loss of data.
type Storage interface {
	Store(ctx context.Context, key string, value []byte) error
	Load(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string, recursive bool) ([]string, error)
}

// Of is ctx's storage, or nil for a context made outside any
// config (as tests make them), whose Storage would dereference nil.
func Of(ctx caddy.Context) (st Storage) {
	defer func() {
		if recover() != nil {
			st = nil
		}
	}()
	return ctx.Storage()
}
