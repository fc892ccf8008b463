// Package redis is phone_otp's Redis store, its Caddyfile parsing and its
// Caddy module (http.handlers.phone_otp.store.redis): the state that
// several Caddy instances share.
package redis

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/internal/caddystorage"
)

func init() {
	caddy.RegisterModule(Redis{})
}

// Defaults, as documented on the fields.
const (
	defaultRedisAddress = "localhost:6379"
	defaultKeyPrefix    = "phone_otp:"
	defaultRedisTimeout = 500 * time.Millisecond
	maxRedisTimeout     = time.Minute
)

// Redis keeps phone_otp's state in Redis, so that several Caddy instances
// behind one load balancer share pending codes, attempt counters, blocks,
// send limits and revoked sessions: a code sent by one instance verifies
// on another, and a limit reached on one holds on all. Every compound
// decision is one atomic Redis command or Lua script, and every key has a
// TTL. One address is a single server; several are the seed nodes of a
// Redis Cluster; with master_name they are Sentinels.
//
// If Redis cannot be reached or does not answer within timeout, store
// calls fail and phone_otp answers 503 (it never lets a request through).
// The outage is logged once when it starts and once when it ends, and the
// client reconnects by itself: no restart is needed.
type Redis struct {
	// Where Redis listens: host:port, or a Unix socket path starting with
	// `/`. Several addresses are the seed nodes of a Redis Cluster, or,
	// with master_name, the Sentinels. Placeholders such as {env.REDIS_ADDR}
	// are resolved at start-up. Default: `localhost:6379`.
	Address []string `json:"address,omitempty"`

	// The Sentinel master name. When set, address lists Sentinels, which
	// tell phone_otp where the current master is. Default: none.
	MasterName string `json:"master_name,omitempty"`

	// The ACL user name (Redis 6+). Default: none, the `default` user.
	Username string `json:"username,omitempty"`

	// The password (AUTH). Use a placeholder such as {env.REDIS_PASSWORD};
	// it is never logged. Default: none.
	Password string `json:"password,omitempty"`

	// The database number, for a single server or Sentinel; a Redis
	// Cluster has only database 0. Default: 0.
	DB int `json:"db,omitempty"`

	// Prefixed to every key, so phone_otp can share a Redis with other
	// applications. Default: `phone_otp:`.
	KeyPrefix string `json:"key_prefix,omitempty"`

	// Connect with TLS (at least 1.2), verifying the server's certificate
	// against the system's roots and its name against the address. Default:
	// off.
	TLS bool `json:"tls,omitempty"`

	// How long one store call may take in all (connecting, retries,
	// reading), and the dial, read and write timeout of each connection.
	// A hung Redis fails requests after this long instead of holding them.
	// Default: 500ms.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	client  goredis.UniversalClient
	poolKey string // its client's in clients; "": a client of its own
	own     bool   // never pooled: tests that play several Caddy processes in one
	cluster bool
	prefix  string
	timeout time.Duration
	health  *health
	loss    *lossWatch
	watch   *revWatch
}

// CaddyModule returns the Caddy module information.
func (Redis) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  store.Namespace + ".redis",
		New: func() caddy.Module { return new(Redis) },
	}
}

// Provision resolves placeholders, checks the options and makes the client.
// It does not wait for Redis: a Redis that is down at start-up is logged
// as an outage, and requests get 503 until it is back, as with any outage.
func (r *Redis) Provision(ctx caddy.Context) error {
	if err := r.resolve(caddy.NewReplacer()); err != nil {
		return fmt.Errorf("store redis: %w", err)
	}
	if err := r.validate(); err != nil {
		return fmt.Errorf("store redis: %w", err)
	}
	routeRedisLogs()
	lost, err := registerDataLost(ctx.GetMetricsRegistry())
	if err != nil {
		return fmt.Errorf("store redis: %w", err)
	}
	// Registered in every config's registry; counted by one hook per
	// client (connect).
	trips, err := registerRoundTrips(ctx.GetMetricsRegistry())
	if err != nil {
		return fmt.Errorf("store redis: %w", err)
	}
	// One client per config, kept across `caddy reload`: a reload that
	// leaves the store as it was keeps its connections, its revocation
	// subscription (so the sessions verified before it need no store
	// call after it) and what its loss watch knows.
	if r.own {
		r.connect(ctx, lost, trips)
		return nil
	}
	r.poolKey = r.identity()
	v, loaded, err := clients.LoadOrNew(r.poolKey, func() (caddy.Destructor, error) {
		r.connect(ctx, lost, trips)
		return pooledClient{r}, nil
	})
	if err != nil {
		return fmt.Errorf("store redis: %w", err)
	}
	if loaded {
		first := v.(pooledClient).r
		r.client, r.cluster, r.prefix, r.timeout = first.client, first.cluster, first.prefix, first.timeout
		r.health, r.loss, r.watch = first.health, first.loss, first.watch
		// Its log lines go to the newest config's logger.
		r.health.setLogger(ctx.Logger())
	}
	return nil
}

// clients holds the Redis clients of the provisioned stores, one per
// config (identity).
var clients = caddy.NewUsagePool()

// pooledClient is the first store provisioned with a config: its client,
// health, loss watch and subscription serve every later one with the same
// config, until the last is cleaned up.
type pooledClient struct{ r *Redis }

func (p pooledClient) Destruct() error { return p.r.close() }

// identity names the client this config needs: everything options and
// the subscription read (the password hashed).
func (r *Redis) identity() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %q %q %q %d %q %t %d",
		r.Address, r.MasterName, r.Username, r.Password, r.DB, r.KeyPrefix, r.TLS, r.Timeout))
	return hex.EncodeToString(sum[:])
}

// StoreID implements store.Identity: stores with one config are one.
func (r *Redis) StoreID() string {
	if r.poolKey == "" {
		return ""
	}
	return "redis " + r.poolKey
}

// connect makes r's client, health, loss watch and subscription.
func (r *Redis) connect(ctx caddy.Context, lost, trips prometheus.Counter) {
	r.prefix = r.KeyPrefix
	r.timeout = time.Duration(r.Timeout)
	r.health = newHealth(ctx.Logger(), r.Address)
	r.loss = newLossWatch(r, caddystorage.Of(ctx), lost)
	r.client = goredis.NewUniversalClient(r.options())
	addRoundTripHook(r.client, trips)
	_, r.cluster = r.client.(*goredis.ClusterClient)
	r.watch = newRevWatch(r)

	// One PING, so that a Redis that is down at start-up is in the log
	// before the first visitor meets it; then the marker, so that a loss
	// of its data while Caddy was down is too (redis_loss.go).
	pctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start := time.Now().UnixNano()
	err := r.client.Ping(pctx).Err()
	r.health.observe(err, start)
	if err == nil {
		_, _ = r.loss.LostBefore(pctx) // on failure, the first session check retries
	}
}

// resolve replaces placeholders in the string options and sets defaults.
// A placeholder that resolves to nothing is an error rather than a silent
// fallback: an unset REDIS_PASSWORD must not mean "no password".
func (r *Redis) resolve(repl *caddy.Replacer) error {
	one := func(name string, s *string) error {
		if *s == "" {
			return nil
		}
		v := repl.ReplaceKnown(*s, "")
		if v == "" {
			return fmt.Errorf("%s: %s resolves to an empty value", name, *s)
		}
		*s = v
		return nil
	}
	var addrs []string
	for _, a := range r.Address {
		if err := one("address", &a); err != nil {
			return err
		}
		// One placeholder may hold several addresses: "h1:6379 h2:6379".
		addrs = append(addrs, strings.Fields(a)...)
	}
	r.Address = addrs
	for _, o := range []struct {
		name string
		s    *string
	}{{"master_name", &r.MasterName}, {"username", &r.Username}, {"password", &r.Password}, {"key_prefix", &r.KeyPrefix}} {
		if err := one(o.name, o.s); err != nil {
			return err
		}
	}
	if len(r.Address) == 0 {
		r.Address = []string{defaultRedisAddress}
	}
	if r.KeyPrefix == "" {
		r.KeyPrefix = defaultKeyPrefix
	}
	if r.Timeout == 0 {
		r.Timeout = caddy.Duration(defaultRedisTimeout)
	}
	return nil
}

// validate checks the resolved options; the Caddyfile parser runs the same
// checks on literal values so that errors carry the file and line.
func (r *Redis) validate() error {
	for _, a := range r.Address {
		if err := checkRedisAddress(a); err != nil {
			return fmt.Errorf("address: %w", err)
		}
	}
	if err := checkRedisDB(r.DB); err != nil {
		return fmt.Errorf("db: %w", err)
	}
	if r.DB != 0 && len(r.Address) > 1 && r.MasterName == "" {
		return errors.New("db: a Redis Cluster (several addresses) has only database 0")
	}
	if err := checkRedisTimeout(time.Duration(r.Timeout)); err != nil {
		return fmt.Errorf("timeout: %w", err)
	}
	return nil
}

// options translates the config for go-redis.
func (r *Redis) options() *goredis.UniversalOptions {
	o := &goredis.UniversalOptions{
		Addrs:      r.Address,
		MasterName: r.MasterName,
		Username:   r.Username,
		Password:   r.Password,
		DB:         r.DB,
		// Every call gets a deadline of r.timeout (see call); these bound
		// each socket operation within it.
		DialTimeout:           r.timeout,
		ReadTimeout:           r.timeout,
		WriteTimeout:          r.timeout,
		PoolTimeout:           r.timeout,
		ContextTimeoutEnabled: true,
		// One dial per try, and one retry (for a pooled connection that
		// a Redis restart closed): a refused connection is an outage now,
		// not after rounds of back-off.
		DialerRetries: 1,
		MaxRetries:    1,
		// No CLIENT SETINFO or CLIENT MAINT_NOTIFICATIONS at connect: fewer
		// round trips, and nothing a locked-down ACL user may be denied.
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		// A restarted Redis is reached through a new connection only;
		// then the marker is read again before the next session check,
		// and the scripts are loaded for the batches (batch.go).
		OnConnect: func(ctx context.Context, cn *goredis.Conn) error {
			if r.loss != nil {
				r.loss.connected()
			}
			loadScripts(ctx, cn)
			return nil
		},
	}
	if r.TLS {
		// ServerName is left empty: crypto/tls then checks each node's
		// certificate against the host it dials.
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o
}

// Cleanup lets go of the client: it is closed when the last store with
// this config is cleaned up (so a reload that keeps the config keeps it).
func (r *Redis) Cleanup() error {
	if r.poolKey != "" {
		key := r.poolKey
		r.poolKey = ""
		_, err := clients.Delete(key)
		return err
	}
	return r.close()
}

// close closes the client and its connections. The client stays in
// place, so that a request still running fails closed (redis.ErrClosed)
// rather than racing with Cleanup over the field.
func (r *Redis) close() error {
	if r.client == nil {
		return nil
	}
	if r.watch != nil {
		r.watch.stop()
	}
	if err := r.client.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
		return err
	}
	return nil
}

func checkRedisAddress(a string) error {
	if strings.HasPrefix(a, "/") {
		return nil // a Unix socket
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port (or a Unix socket path)", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has no valid port", a)
	}
	return nil
}

func checkRedisDB(db int) error {
	if db < 0 {
		return fmt.Errorf("%d is not a database number (0 or more)", db)
	}
	return nil
}

func checkRedisTimeout(d time.Duration) error {
	if d < time.Millisecond || d > maxRedisTimeout {
		return fmt.Errorf("%s is out of range (1ms to %s)", d, maxRedisTimeout)
	}
	return nil
}

// Interface guards
var (
	_ store.Store        = (*Redis)(nil)
	_ store.LossDetector = (*Redis)(nil)
	_ store.Identity     = (*Redis)(nil)
	_ caddy.Module       = (*Redis)(nil)
	_ caddy.Provisioner  = (*Redis)(nil)
	_ caddy.CleanerUpper = (*Redis)(nil)
)
