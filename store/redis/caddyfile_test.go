package redis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

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
