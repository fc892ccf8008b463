package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// CSRFToken is the form token for a browser's CSRF cookie nonce: an HMAC
// a cross-site page can neither read from the cookie nor compute.
func CSRFToken(key []byte, nonce string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ValidCSRF reports whether token is the form token of nonce.
func ValidCSRF(key []byte, nonce, token string) bool {
	if nonce == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(CSRFToken(key, nonce)))
}
