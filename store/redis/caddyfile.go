package redis

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the store from Caddyfile tokens:
//
//	store redis [<address>...] {
//	    address     <address>...   # may be repeated
//	    master_name <name>
//	    username    <user>
//	    password    <password>
//	    db          <number>
//	    key_prefix  <prefix>
//	    tls
//	    timeout     <duration>
//	}
//
// Literal values are checked here, so that a mistake names its file and
// line; values with placeholders are checked at Provision.
func (r *Redis) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if err := r.addAddresses(d, d.RemainingArgs()); err != nil {
		return err
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		opt := d.Val()
		if seen[opt] && opt != "address" {
			return d.Errf("store redis: %s: already specified", opt)
		}
		seen[opt] = true
		switch opt {
		case "address":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("store redis: address: expected at least one host:port")
			}
			if err := r.addAddresses(d, args); err != nil {
				return err
			}
		case "master_name":
			if err := oneArg(d, &r.MasterName); err != nil {
				return err
			}
		case "username":
			if err := oneArg(d, &r.Username); err != nil {
				return err
			}
		case "password":
			if err := oneArg(d, &r.Password); err != nil {
				return err
			}
		case "key_prefix":
			if err := oneArg(d, &r.KeyPrefix); err != nil {
				return err
			}
		case "db":
			var s string
			if err := oneArg(d, &s); err != nil {
				return err
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return d.Errf("store redis: db: %q is not a whole number", s)
			}
			if err := checkRedisDB(n); err != nil {
				return d.Errf("store redis: db: %v", err)
			}
			r.DB = n
		case "tls":
			if d.NextArg() {
				return d.Errf("store redis: tls takes no value")
			}
			r.TLS = true
		case "timeout":
			var s string
			if err := oneArg(d, &s); err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(s)
			if err != nil {
				return d.Errf("store redis: timeout: %v", err)
			}
			if err := checkRedisTimeout(dur); err != nil {
				return d.Errf("store redis: timeout: %v", err)
			}
			r.Timeout = caddy.Duration(dur)
		default:
			return d.Errf("store redis: unrecognized subdirective %q", opt)
		}
	}
	if r.DB != 0 && len(r.Address) > 1 && r.MasterName == "" {
		return d.Errf("store redis: db: a Redis Cluster (several addresses) has only database 0")
	}
	return nil
}

func (r *Redis) addAddresses(d *caddyfile.Dispenser, args []string) error {
	for _, a := range args {
		if !strings.Contains(a, "{") {
			if err := checkRedisAddress(a); err != nil {
				return d.Errf("store redis: address: %v", err)
			}
		}
	}
	r.Address = append(r.Address, args...)
	return nil
}

// oneArg reads the single value of the current subdirective.
func oneArg(d *caddyfile.Dispenser, dst *string) error {
	opt := d.Val()
	if !d.NextArg() {
		return d.Errf("store redis: %s: expected one value", opt)
	}
	v := d.Val()
	if d.NextArg() {
		return d.Errf("store redis: %s: expected one value, got more", opt)
	}
	if v == "" {
		return d.Errf("store redis: %s: must not be empty", opt)
	}
	*dst = v
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Redis)(nil)
