package session

import "testing"

func TestCSRF(t *testing.T) {
	k, err := DeriveKeys(testSecret, "otp:test")
	if err != nil {
		t.Fatal(err)
	}
	other, err := DeriveKeys(testSecret, "otp:other")
	if err != nil {
		t.Fatal(err)
	}
	nonce := newID()
	tok := CSRFToken(k.CSRF, nonce)
	tests := []struct {
		name         string
		key          []byte
		nonce, token string
		want         bool
	}{
		{"right token", k.CSRF, nonce, tok, true},
		{"wrong nonce", k.CSRF, newID(), tok, false},
		{"wrong key", k.Code, nonce, tok, false},
		{"another domain's key", other.CSRF, nonce, tok, false},
		{"empty nonce", k.CSRF, "", CSRFToken(k.CSRF, ""), false},
		{"empty token", k.CSRF, nonce, "", false},
		{"both empty", k.CSRF, "", "", false},
		{"truncated token", k.CSRF, nonce, tok[:len(tok)-1], false},
		{"nonce as token", k.CSRF, nonce, nonce, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidCSRF(tt.key, tt.nonce, tt.token); got != tt.want {
				t.Errorf("validCSRF = %v, want %v", got, tt.want)
			}
		})
	}
	if CSRFToken(k.CSRF, nonce) != tok {
		t.Error("csrfToken is not deterministic")
	}
}
