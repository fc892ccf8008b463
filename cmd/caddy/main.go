// Command caddy is Caddy's standard distribution with the phone_otp plugin,
// so that `go run ./cmd/caddy run --config Caddyfile.example` works with
// no extra tool.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddyotp/caddyotp"
)

func main() {
	caddycmd.Main()
}
