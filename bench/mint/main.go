// Command mint prints n distinct valid session tokens, one a line, for a
// phone_otp handler with the given secret and realm (so that its
// protection domain is "realm:<realm>"), for bench/run.sh's many-sessions
// mode: what n visitors who signed in would carry. Each token has a phone
// of its own.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/caddyotp/caddyotp/internal/session"
)

func main() {
	secret := flag.String("secret", "", "the handler's secret")
	realm := flag.String("realm", "", "the handler's realm")
	issuer := flag.String("issuer", "phone_otp", "the handler's issuer")
	n := flag.Int("n", 10000, "how many sessions")
	ttl := flag.Duration("ttl", 12*time.Hour, "how long they live (at most the handler's session_ttl)")
	flag.Parse()
	if *secret == "" || *realm == "" || *n < 1 {
		log.Fatal("mint: -secret, -realm and -n >= 1 are needed")
	}
	toks, err := mint([]byte(*secret), *realm, *issuer, *n, *ttl)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range toks {
		fmt.Fprintln(os.Stdout, t)
	}
}

// mint issues n sessions of the protection domain of realm, for phones
// +1 201 NXX XXXX (N in 2-8, XX not 11: always valid), each its own.
func mint(secret []byte, realm, issuer string, n int, ttl time.Duration) ([]string, error) {
	s := session.New(secret, issuer, ttl, nil, "realm:"+realm, time.Now)
	out := make([]string, 0, n)
	for i := range n {
		nxx := 220 + i/10000%600
		if nxx%100 == 11 {
			nxx++
		}
		tok, _, err := s.Issue(fmt.Sprintf("+1201%03d%04d", nxx, i%10000), "", "")
		if err != nil {
			return nil, fmt.Errorf("mint: %w", err)
		}
		out = append(out, tok)
	}
	return out, nil
}
