package session

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
)

// MinSecretLen is the shortest secret accepted, configured or stored.
const MinSecretLen = 32

// Keys are the secrets derived from the configured one. The session key
// is the secret itself, so other services can verify session tokens; the
// rest are derived with HKDF so no two uses share a key.
type Keys struct {
	Session   []byte
	Challenge []byte
	Code      []byte
	CSRF      []byte
	Device    []byte
}

// DeriveKeys derives the keys of one protection domain: the derived keys
// are bound to domain, so a challenge, device or CSRF token (and a code
// hash) of one domain is worth nothing in another even with one secret.
// The session key cannot be (it is the secret); sessions carry the domain
// in aud instead.
func DeriveKeys(secret []byte, domain string) (Keys, error) {
	derive := func(label string) ([]byte, error) {
		return hkdf.Key(sha256.New, secret, nil, "phone_otp "+label+"\x00"+domain, 32)
	}
	k := Keys{Session: secret}
	var err error
	for _, d := range []struct {
		dst   *[]byte
		label string
	}{{&k.Challenge, "challenge"}, {&k.Code, "code"}, {&k.CSRF, "csrf"}, {&k.Device, "device"}} {
		if *d.dst, err = derive(d.label); err != nil {
			return Keys{}, fmt.Errorf("derive %s key: %w", d.label, err)
		}
	}
	return k, nil
}

// secretStorageKey is where a generated secret is kept in Caddy's storage.
// Instances sharing storage share it, and so accept each other's sessions.
const secretStorageKey = "phone_otp/secret"

// Storage is the part of certmagic.Storage LoadOrCreateSecret needs.
type Storage interface {
	Lock(ctx context.Context, name string) error
	Unlock(ctx context.Context, name string) error
	Load(ctx context.Context, key string) ([]byte, error)
	Store(ctx context.Context, key string, value []byte) error
}

// LoadOrCreateSecret returns the secret kept in st, generating and keeping
// one first if there is none: the secret of a configuration that names
// none. A damaged stored secret is an error, not replaced, since a new one
// would end every session signed with the old.
func LoadOrCreateSecret(ctx context.Context, st Storage) ([]byte, error) {
	if st == nil {
		return nil, errors.New("no secret configured and no storage to keep a generated one")
	}
	if err := st.Lock(ctx, secretStorageKey); err != nil {
		return nil, fmt.Errorf("lock storage: %w", err)
	}
	defer st.Unlock(ctx, secretStorageKey)
	data, err := st.Load(ctx, secretStorageKey)
	if err == nil {
		secret, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
		if err != nil || len(secret) < MinSecretLen {
			return nil, fmt.Errorf("stored secret %q is damaged; delete it to generate a new one", secretStorageKey)
		}
		return secret, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load from storage: %w", err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	if err := st.Store(ctx, secretStorageKey, []byte(base64.StdEncoding.EncodeToString(secret))); err != nil {
		return nil, fmt.Errorf("keep in storage: %w", err)
	}
	return secret, nil
}
