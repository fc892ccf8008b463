package caddyotp

import (
	"fmt"
	"strings"
	"time"
)

// renderMessage fills the SMS template and adds the origin-bound line
// (WICG sms-one-time-codes) that makes phones offer the code to host only.
func (h *Handler) renderMessage(code, host string) string {
	minutes := fmt.Sprint(max(1, int(time.Duration(h.CodeTTL).Round(time.Minute)/time.Minute)))
	// The Caddyfile adapter rewrites the {host} shorthand to
	// {http.request.host} in every token, message included.
	text := strings.NewReplacer("{code}", code, "{host}", host, "{http.request.host}", host,
		"{minutes}", minutes).Replace(h.Message)
	return text + "\n\n@" + host + " #" + code
}
