package caddyotp

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

// The host an SMS names ("… code for {host}." and its origin-bound line
// "@{host} #{code}", which WebOTP offers to that host only) is one the
// admin configured, never the request's raw Host header: on a catch-all
// site anyone could otherwise put a domain of their choice into a text
// from the site's real sender.

// smsHost is the host to name in an SMS for r: origin if set; else the
// request's host if it is one of the site's names, as configured (or,
// for a wildcard, the request's host once it is seen to be made only of
// DNS label characters). ok is false for any other Host.
func (h *Handler) smsHost(r *http.Request) (host string, ok bool) {
	if h.Origin != "" {
		return h.Origin, true
	}
	req := normalHost(hostOnly(r.Host))
	for _, p := range h.SiteHosts {
		if !strings.Contains(p, "*") {
			if p == req {
				return p, true
			}
			continue
		}
		if matchWildcard(p, req) {
			return req, true
		}
	}
	return "", false
}

// normalHost is a host as compared: lower case, no brackets, no final dot.
func normalHost(s string) string {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(s, "]"), "["), ".")
	return strings.ToLower(s)
}

// matchWildcard reports whether host matches pattern label by label, a
// "*" standing for any one DNS label, as Caddy's host matcher does.
func matchWildcard(pattern, host string) bool {
	pl, hl := strings.Split(pattern, "."), strings.Split(host, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if !dnsLabel(hl[i]) || (pl[i] != "*" && pl[i] != hl[i]) {
			return false
		}
	}
	return true
}

func dnsLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkOrigin accepts a host name or an IP address, without scheme, port
// or path: what follows "@" in the origin-bound line.
func checkOrigin(s string) error {
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	n := normalHost(s)
	if n == "" || len(n) > 253 {
		return fmt.Errorf("%q is not a host name", s)
	}
	for _, l := range strings.Split(n, ".") {
		if !dnsLabel(l) {
			return fmt.Errorf("%q is not a host name (no scheme, port, path or wildcard)", s)
		}
	}
	return nil
}

// checkSiteHost is checkOrigin that also takes "*" labels.
func checkSiteHost(s string) error {
	return checkOrigin(strings.ReplaceAll(s, "*", "x"))
}

// siteHosts returns the host names of the site block the directive is in,
// or nil if any of its addresses takes every host (":8080", "http://") or
// cannot be read (see siteKeys): then the site needs `origin`.
func siteHosts(h httpcaddyfile.Helper) []string {
	if h.IsNamedRoute() {
		return nil
	}
	keys, ok := siteKeys(h)
	if !ok {
		return nil
	}
	var hosts []string
	for _, key := range keys {
		addr, err := httpcaddyfile.ParseAddress(key)
		if err != nil || addr.Host == "" || checkSiteHost(addr.Host) != nil {
			return nil
		}
		hosts = append(hosts, normalHost(addr.Host))
	}
	return hosts
}
