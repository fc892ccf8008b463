package caddyotp

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// domain is the handler's protection domain: the store's key namespace,
// the aud of its sessions and part of every derived key's label. It is
// derived, never random, so a reload, a restart and every instance with
// this config agree on it; and only from what says which handler this is,
// so that changing a limit or a rule keeps its sessions.
func (h *Handler) domain() string {
	if h.Realm != "" {
		return "realm:" + h.Realm
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{"phone_otp domain v1",
		h.Site, h.Prefix, h.Issuer, h.CookieName, h.CookieDomain}, "\x00")))
	return "site:" + base64.RawURLEncoding.EncodeToString(sum[:12])
}
