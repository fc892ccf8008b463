// Command sametoken asks a phone_otp site for each of the given sessions
// (bench/mint's output, one token a line) from several connections at
// once: the first requests of one visitor whose page loads several
// resources in parallel, on a Caddy that has not seen the token yet.
// bench/sessions.sh counts the store commands these first requests make
// (the target: the concurrent first requests with one token share one
// store check). Each token's requests start together, released by one
// channel close, each on a connection of its own that is already open;
// the next token's start when all of them were answered. Any answer but
// 200 fails the run.
//
//	go run ./bench/sametoken -url http://127.0.0.1:18087/ -tokens tokens -same 8
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "a URL the session protects")
	file := flag.String("tokens", "", "the tokens, one a line")
	same := flag.Int("same", 8, "connections asking with one token at once")
	cookie := flag.String("cookie", "otp_session", "the session cookie's name")
	flag.Parse()
	if *url == "" || *file == "" || *same < 1 {
		log.Fatal("sametoken: -url, -tokens and -same >= 1 are needed")
	}
	toks, err := readTokens(*file)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	if err := run(*url, *cookie, toks, *same); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("SAME tokens %d same %d requests %d seconds %.3f\n", len(toks), *same, len(toks)**same, time.Since(start).Seconds())
}

func readTokens(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var toks []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			toks = append(toks, t)
		}
	}
	return toks, sc.Err()
}

// run asks url with each token from same clients at once, each client
// with one connection of its own, opened before the first token.
func run(url, cookie string, toks []string, same int) error {
	clients := make([]*http.Client, same)
	for i := range clients {
		clients[i] = &http.Client{
			Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1},
			Timeout:   10 * time.Second,
		}
		// No cookie: a 401 that opens the connection and touches no session.
		if _, _, err := get(clients[i], url, ""); err != nil {
			return fmt.Errorf("sametoken: open connection %d: %w", i, err)
		}
	}
	for _, tok := range toks {
		release := make(chan struct{})
		errs := make([]error, same)
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release
				st, body, err := get(c, url, cookie+"="+tok)
				if err == nil && st != http.StatusOK {
					err = fmt.Errorf("answered %d: %s", st, body)
				}
				errs[i] = err
			}()
		}
		close(release)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("sametoken: %w", err)
			}
		}
	}
	return nil
}

func get(c *http.Client, url, cookie string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(body), err
}
