// Command authsvc is a minimal forward_auth service: the Authelia /
// oauth2-proxy pattern at its cheapest (one cookie compared, no session
// store), so that bench/run.sh can put phone_otp beside it.
package main

import (
	"crypto/subtle"
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	token := flag.String("token", "bench", "the value of the auth cookie that passes")
	flag.Parse()
	http.HandleFunc("/check", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("auth")
		if err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(*token)) == 1 {
			w.Header().Set("X-User", "bench")
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
