package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyotp/caddyotp/internal/redistest"
)

func TestRedisModule(t *testing.T) {
	if id := (Redis{}).CaddyModule().ID; id != "http.handlers.phone_otp.store.redis" {
		t.Fatalf("module ID %q", id)
	}
	mod, err := caddy.GetModule(Namespace + ".redis")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mod.New().(Store); !ok {
		t.Fatal("module instance is not a Store")
	}
}

func TestRedisUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    Redis
		wantErr string
	}{
		{name: "bare", input: "redis", want: Redis{}},
		{name: "inline addresses", input: "redis h1:6379 h2:6380",
			want: Redis{Address: []string{"h1:6379", "h2:6380"}}},
		{name: "every option", input: `redis {
			address 10.0.0.1:6379
			address 10.0.0.2:6379 10.0.0.3:6379
			master_name mymaster
			username otp
			password {env.REDIS_PASSWORD}
			db 2
			key_prefix site1:
			tls
			timeout 250ms
		}`, want: Redis{
			Address:    []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
			MasterName: "mymaster", Username: "otp", Password: "{env.REDIS_PASSWORD}",
			DB: 2, KeyPrefix: "site1:", TLS: true, Timeout: caddy.Duration(250 * time.Millisecond),
		}},
		{name: "unix socket", input: "redis /run/redis/redis.sock",
			want: Redis{Address: []string{"/run/redis/redis.sock"}}},
		{name: "placeholder address", input: "redis {env.REDIS_ADDR}",
			want: Redis{Address: []string{"{env.REDIS_ADDR}"}}},
		{name: "ipv6", input: "redis [::1]:6379", want: Redis{Address: []string{"[::1]:6379"}}},

		{name: "no port", input: "redis localhost", wantErr: `"localhost" is not host:port`},
		{name: "bad port", input: "redis {\n address localhost:http\n}", wantErr: "no valid port"},
		{name: "port out of range", input: "redis localhost:70000", wantErr: "no valid port"},
		{name: "empty address", input: "redis {\n address\n}", wantErr: "expected at least one"},
		{name: "db not a number", input: "redis {\n db one\n}", wantErr: `"one" is not a whole number`},
		{name: "db negative", input: "redis {\n db -1\n}", wantErr: "not a database number"},
		{name: "db on a cluster", input: "redis h1:6379 h2:6379 {\n db 1\n}", wantErr: "only database 0"},
		{name: "timeout zero", input: "redis {\n timeout 0s\n}", wantErr: "out of range"},
		{name: "timeout huge", input: "redis {\n timeout 2m\n}", wantErr: "out of range"},
		{name: "timeout garbage", input: "redis {\n timeout soon\n}", wantErr: "timeout"},
		{name: "tls with a value", input: "redis {\n tls yes\n}", wantErr: "tls takes no value"},
		{name: "password twice", input: "redis {\n password a\n password b\n}", wantErr: "password: already specified"},
		{name: "password missing", input: "redis {\n password\n}", wantErr: "password: expected one value"},
		{name: "two prefixes", input: "redis {\n key_prefix a b\n}", wantErr: "got more"},
		{name: "empty prefix", input: "redis {\n key_prefix \"\"\n}", wantErr: "must not be empty"},
		{name: "unknown", input: "redis {\n addr x:1\n}", wantErr: `unrecognized subdirective "addr"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Redis
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "Testfile:") {
					t.Errorf("error %q does not name the file and line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
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
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
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
	if len(keys) != 7 {
		t.Errorf("keys %q, want 7", keys)
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
	db3 := redis.NewClient(&redis.Options{Addr: srv.Addr, DB: 3})
	defer db3.Close()
	if v, err := db3.Get(context.Background(), "phone_otp:k").Result(); err != nil || v != "in db 3" {
		t.Fatalf("GET phone_otp:k in db 3 = %q %v", v, err)
	}
	if v, err := srv.Do("GET", "phone_otp:k"); err != nil || v != "v" {
		t.Fatalf("db 0 changed: %q %v", v, err)
	}
}

// TestRedisOutage stops Redis, then freezes it, and checks that calls
// fail fast and closed, that each outage is logged once at ERROR with its
// cause and once at INFO when it ends, and that the store recovers with no
// restart.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	const timeout = 200 * time.Millisecond
	r, logs := observed(t, srv.Addr, timeout)
	ctx := context.Background()
	if err := r.Set(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}

	// hammer makes every kind of call rounds times; each must fail (not
	// ErrNotFound, which would read as "no block, not revoked") within a
	// bound of the timeout.
	hammer := func(phase string, rounds int) {
		t.Helper()
		for range rounds {
			calls := map[string]func() error{
				"get":    func() error { _, _, err := r.Get(ctx, "k"); return err },
				"set":    func() error { return r.Set(ctx, "k", []byte("v"), time.Hour) },
				"setnx":  func() error { _, _, err := r.SetNX(ctx, "n", []byte("v"), time.Hour); return err },
				"incr":   func() error { _, _, err := r.Incr(ctx, "c", 1, time.Hour); return err },
				"cad":    func() error { _, err := r.CompareAndDelete(ctx, "k", []byte("x")); return err },
				"delete": func() error { return r.Delete(ctx, "a", "b") },
				"hit":    func() error { _, _, err := r.Hit(ctx, "w", 5, time.Hour, 0); return err },
				"unhit":  func() error { return r.Unhit(ctx, "w") },
				"window": func() error { _, _, err := r.Window(ctx, "w"); return err },
				"keys":   func() error { _, err := r.Keys(ctx, ""); return err },
			}
			for name, call := range calls {
				start := time.Now()
				err := call()
				if err == nil || errors.Is(err, ErrNotFound) {
					t.Fatalf("%s: %s with Redis unavailable: err = %v, want a failure", phase, name, err)
				}
				if d := time.Since(start); d > 4*timeout {
					t.Errorf("%s: %s took %v with a timeout of %v", phase, name, d, timeout)
				}
			}
		}
	}
	// recovered polls every 50ms, for up to 5s, until the store answers.
	recovered := func(phase string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, _, err := r.Get(ctx, "k")
			if err == nil || errors.Is(err, ErrNotFound) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: store did not recover: %v", phase, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wantLog := func(phase string, downs, ups int) {
		t.Helper()
		var gotDown, gotUp, other int
		for _, e := range logs.All() {
			switch {
			case e.Level == zapcore.ErrorLevel && strings.HasPrefix(e.Message, "redis store unavailable"):
				gotDown++
				if e.ContextMap()["error"] == nil {
					t.Errorf("%s: outage line without its cause: %v", phase, e.ContextMap())
				}
			case e.Level == zapcore.InfoLevel && e.Message == "redis store is back":
				gotUp++
			default:
				other++
			}
		}
		if gotDown != downs || gotUp != ups || other != 0 {
			t.Fatalf("%s: log has %d outage lines, %d recovery lines and %d others, want %d, %d and 0:\n%v",
				phase, gotDown, gotUp, other, downs, ups, logs.All())
		}
	}

	srv.Stop()
	hammer("stopped", 5)
	wantLog("stopped", 1, 0)
	srv.Restart()
	recovered("restarted")
	wantLog("restarted", 1, 1)
	if err := r.Set(ctx, "k", []byte("v2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, _, err := r.Get(ctx, "k"); err != nil || string(v) != "v2" {
		t.Fatalf("after the restart: %q %v", v, err)
	}

	srv.Freeze()
	hammer("frozen", 2)
	wantLog("frozen", 2, 1)
	srv.Thaw()
	recovered("thawed")
	wantLog("thawed", 2, 2)

	// A caller that gives up says nothing about Redis.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := r.Get(cctx, "k"); err == nil {
		t.Error("Get with a cancelled context: no error")
	}
	wantLog("cancelled", 2, 2)
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
			if _, _, err := r.Get(ctx, "k"); err == nil || errors.Is(err, ErrNotFound) {
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

// After Cleanup (an old config, after `caddy reload`), calls fail closed,
// and a late request is not taken for a Redis outage.
func TestRedisAfterCleanup(t *testing.T) {
	srv := redistest.Start(t)
	r, logs := observed(t, srv.Addr, time.Second)
	if err := r.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Get(context.Background(), "k"); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("Get after Cleanup: %v, want redis.ErrClosed", err)
	}
	if err := r.Cleanup(); err != nil {
		t.Fatalf("second Cleanup: %v", err)
	}
	if logs.Len() != 0 || r.health.down.Load() {
		t.Fatalf("a closed client was taken for an outage: %v", logs.All())
	}
}
