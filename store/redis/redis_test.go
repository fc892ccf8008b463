package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/store"
)

func TestRedisModule(t *testing.T) {
	if id := (Redis{}).CaddyModule().ID; id != "http.handlers.phone_otp.store.redis" {
		t.Fatalf("module ID %q", id)
	}
	mod, err := caddy.GetModule(store.Namespace + ".redis")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mod.New().(store.Store); !ok {
		t.Fatal("module instance is not a Store")
	}
}

func TestRedisProvision(t *testing.T) {
	t.Setenv("OTP_TEST_REDIS_ADDRS", "h1:6379 h2:6379")
	t.Setenv("OTP_TEST_REDIS_PASSWORD", "s3cret")
	t.Setenv("OTP_TEST_EMPTY", "")
	tests := []struct {
		name    string
		in      Redis
		check   func(t *testing.T, r *Redis)
		wantErr string
	}{
		{name: "defaults", in: Redis{}, check: func(t *testing.T, r *Redis) {
			if fmt.Sprint(r.Address) != "[localhost:6379]" || r.KeyPrefix != "phone_otp:" ||
				r.timeout != 500*time.Millisecond || r.cluster {
				t.Errorf("defaults: %v %q %v cluster=%v", r.Address, r.KeyPrefix, r.timeout, r.cluster)
			}
		}},
		{name: "placeholders", in: Redis{Address: []string{"{env.OTP_TEST_REDIS_ADDRS}"}, Password: "{env.OTP_TEST_REDIS_PASSWORD}"},
			check: func(t *testing.T, r *Redis) {
				if fmt.Sprint(r.Address) != "[h1:6379 h2:6379]" || r.Password != "s3cret" || !r.cluster {
					t.Errorf("resolved to %v %q cluster=%v", r.Address, r.Password, r.cluster)
				}
			}},
		{name: "sentinel", in: Redis{Address: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster", DB: 3},
			check: func(t *testing.T, r *Redis) {
				if r.cluster {
					t.Error("a Sentinel set was taken for a cluster")
				}
			}},
		{name: "tls", in: Redis{TLS: true}, check: func(t *testing.T, r *Redis) {
			if o := r.options(); o.TLSConfig == nil || o.TLSConfig.MinVersion < 0x0303 || o.TLSConfig.InsecureSkipVerify {
				t.Errorf("TLS config %+v", o.TLSConfig)
			}
		}},
		{name: "empty password placeholder", in: Redis{Password: "{env.OTP_TEST_EMPTY}"}, wantErr: "password: {env.OTP_TEST_EMPTY} resolves to an empty value"},
		{name: "unset address placeholder", in: Redis{Address: []string{"{env.OTP_TEST_UNSET_ADDR}"}}, wantErr: "address: {env.OTP_TEST_UNSET_ADDR} resolves to an empty value"},
		{name: "bad address", in: Redis{Address: []string{"nope"}}, wantErr: `"nope" is not host:port`},
		{name: "db on a cluster", in: Redis{Address: []string{"a:1", "b:1"}, DB: 1}, wantErr: "only database 0"},
		{name: "negative db", in: Redis{DB: -1}, wantErr: "not a database number"},
		{name: "timeout", in: Redis{Timeout: caddy.Duration(time.Hour)}, wantErr: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in
			err := provision(t, &r)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error reveals the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, &r)
		})
	}
}

func provision(t *testing.T, r *Redis) error {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	err := r.Provision(ctx)
	t.Cleanup(func() { r.Cleanup() })
	return err
}

// observed provisions a store on srv whose log a test can read.
func observed(t *testing.T, addr string, timeout time.Duration) (*Redis, *observer.ObservedLogs) {
	t.Helper()
	r := &Redis{Address: []string{addr}, KeyPrefix: "t:" + t.Name() + ":", Timeout: caddy.Duration(timeout)}
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	r.health = newHealth(zap.New(core), r.Address)
	return r, logs
}

// TestRedisEveryKeyHasATTL drives every method and then looks at what is
// in Redis: every key is under the prefix and expires.
func TestRedisEveryKeyHasATTL(t *testing.T) {
	srv := redistest.Start(t)
	r, _ := observed(t, srv.Addr, time.Second)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Set(ctx, "code", []byte("rec"), time.Minute))
	_, _, err := r.SetNX(ctx, "resend", []byte{1}, 30*time.Second)
	must(err)
	_, _, err = r.Incr(ctx, "att", 1, 15*time.Minute)
	must(err)
	_, _, err = r.Incr(ctx, "att", 1, 15*time.Minute)
	must(err)
	_, _, err = r.Incr(ctx, "lim", -1, time.Hour)
	must(err)
	_, _, err = r.Hit(ctx, "win", 5, time.Hour, 30*time.Second)
	must(err)
	must(r.Unhit(ctx, "win"))

	// A key written without a TTL by someone else gets one from SetNX and
	// Incr rather than living for ever.
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer admin.Close()
	must(admin.Set(ctx, r.KeyPrefix+"stray", "5", 0).Err())
	must(admin.Set(ctx, r.KeyPrefix+"stray2", "x", 0).Err())
	if n, left, err := r.Incr(ctx, "stray", 1, time.Minute); err != nil || n != 6 || left != time.Minute {
		t.Errorf("Incr of a key with no TTL: %d %v %v", n, left, err)
	}
	if ok, left, err := r.SetNX(ctx, "stray2", []byte("y"), time.Minute); err != nil || ok || left != time.Minute {
		t.Errorf("SetNX on a key with no TTL: %v %v %v", ok, left, err)
	}

	keys, err := admin.Keys(ctx, "*").Result()
	must(err)
	if len(keys) != 8 {
		t.Errorf("keys %q, want 8 (7 and the loss marker)", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "t:"+t.Name()+":") {
			t.Errorf("key %q lacks the prefix", k)
		}
		if ttl := admin.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %q has TTL %v", k, ttl)
		}
	}
}

func TestRedisDefaultPrefixAndDB(t *testing.T) {
	srv := redistest.Start(t)
	r := &Redis{Address: []string{srv.Addr}}
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(context.Background(), "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := srv.Do("GET", "phone_otp:k"); err != nil || v != "v" {
		t.Fatalf("GET phone_otp:k = %q %v", v, err)
	}

	// db selects the database on every connection.
	r3 := &Redis{Address: []string{srv.Addr}, DB: 3}
	if err := provision(t, r3); err != nil {
		t.Fatal(err)
	}
	if err := r3.Set(context.Background(), "k", []byte("in db 3"), time.Minute); err != nil {
		t.Fatal(err)
	}
	db3 := goredis.NewClient(&goredis.Options{Addr: srv.Addr, DB: 3})
	defer db3.Close()
	if v, err := db3.Get(context.Background(), "phone_otp:k").Result(); err != nil || v != "in db 3" {
		t.Fatalf("GET phone_otp:k in db 3 = %q %v", v, err)
	}
	if v, err := srv.Do("GET", "phone_otp:k"); err != nil || v != "v" {
		t.Fatalf("db 0 changed: %q %v", v, err)
	}
}

// TestRedisTLSToPlainServer checks that `tls` really speaks TLS: a plain
// server cannot answer it, and the call fails rather than falling back.
func TestRedisTLSToPlainServer(t *testing.T) {
	srv := redistest.Start(t)
	r := &Redis{Address: []string{srv.Addr}, TLS: true, Timeout: caddy.Duration(300 * time.Millisecond)}
	if err := provision(t, r); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(context.Background(), "k", []byte("v"), time.Minute); err == nil {
		t.Fatal("a TLS client talked to a plain server")
	}
}

// TestRedisAuth checks password and ACL user against a real server that
// requires them; a refused login fails closed and never shows the password.
func TestRedisAuth(t *testing.T) {
	srv := redistest.Start(t)
	for _, cmd := range [][]string{
		{"ACL", "SETUSER", "otp", "on", ">otp-user-pw", "~phone_otp:*", "+@all"},
		{"CONFIG", "SET", "requirepass", "default-user-pw"},
	} {
		if _, err := srv.Do(cmd...); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	t.Setenv("OTP_TEST_REDIS_PW", "default-user-pw")
	tests := []struct {
		name     string
		username string
		password string
		ok       bool
	}{
		{"password from a placeholder", "", "{env.OTP_TEST_REDIS_PW}", true},
		{"ACL user", "otp", "otp-user-pw", true},
		{"no password", "", "", false},
		{"wrong password", "", "not-the-password", false},
		{"wrong user", "nobody", "otp-user-pw", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Redis{Address: []string{srv.Addr}, Username: tt.username, Password: tt.password}
			if err := provision(t, r); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			err := r.Set(ctx, "k", []byte("v"), time.Minute)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if v, _, err := r.Get(ctx, "k"); err != nil || string(v) != "v" {
					t.Fatalf("Get: %q %v", v, err)
				}
				return
			}
			if err == nil {
				t.Fatal("Set succeeded without the right credentials")
			}
			if _, _, err := r.Get(ctx, "k"); err == nil || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get without the right credentials: %v, want a failure", err)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("error shows the password: %v", err)
			}
			if !r.health.down.Load() {
				t.Error("refused credentials not taken for an outage")
			}
		})
	}
}

// TestRedisPooledAcrossReload: a store provisioned with the config of one
// already running (a reload's) shares its client and subscription; the
// old one's Cleanup leaves both working, the subscription live all along;
// the last Cleanup closes them.
func TestRedisPooledAcrossReload(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	cfg := func() *Redis {
		return &Redis{Address: []string{srv.Addr}, KeyPrefix: "pool:", Timeout: caddy.Duration(time.Second)}
	}
	old := cfg()
	if err := provision(t, old); err != nil {
		t.Fatal(err)
	}
	rec := subscribed(t, old)

	cur := cfg()
	if err := provision(t, cur); err != nil {
		t.Fatal(err)
	}
	if cur.client != old.client || cur.StoreID() != old.StoreID() || cur.StoreID() == "" {
		t.Fatal("the same config got a client of its own")
	}
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := cur.Set(ctx, "ns:k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("after the old config's Cleanup: %v", err)
	}
	if err := cur.Revoke(ctx, "ns:rev:x", []byte{1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the revocation pushed", func() bool { _, _, _, got := rec.State(); return len(got) == 1 })
	if live, _, downs, _ := rec.State(); !live || downs != 0 {
		t.Fatalf("the subscription across the reload: live %v, %d losses; want live, none", live, downs)
	}

	other := &Redis{Address: []string{srv.Addr}, KeyPrefix: "other:", Timeout: caddy.Duration(time.Second)}
	if err := provision(t, other); err != nil {
		t.Fatal(err)
	}
	if other.client == cur.client || other.StoreID() == cur.StoreID() {
		t.Fatal("another key prefix shares the client")
	}

	if err := cur.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cur.Get(ctx, "ns:k"); !errors.Is(err, goredis.ErrClosed) {
		t.Fatalf("after the last Cleanup: %v, want redis.ErrClosed", err)
	}
}
