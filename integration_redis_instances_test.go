package caddyotp_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/internal/redistest"
)

// sharedSecret is the `secret` both instances are given.
const sharedSecret = "two-instances-share-this-secret-0123456789"

// TestRedisSeveralInstances runs real Caddy processes, built once from
// ./cmd/caddy, on real redis-servers: what a site behind a load balancer
// is, and what it does when Redis goes away.
func TestRedisSeveralInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Caddy binary and runs several")
	}
	redistest.Start(t).Stop() // fail or skip before the build without redis-server
	bin := buildCaddy(t, t.TempDir())
	dex := fakegw.NewDexatel(t)
	app := newEchoApp(t)
	t.Run("two instances", func(t *testing.T) { testTwoInstances(t, bin, dex, app.Listener.Addr().String()) })
	t.Run("outage", func(t *testing.T) { testOutage(t, bin, dex, app.Listener.Addr().String()) })
	t.Run("sentinel failover", func(t *testing.T) { testFailover(t, bin, dex, app.Listener.Addr().String(), sentinelFailover(t)) })
	t.Run("cluster failover", func(t *testing.T) { testFailover(t, bin, dex, app.Listener.Addr().String(), clusterFailover(t)) })
}

// testTwoInstances runs two instances A and B on one Redis with one
// secret, as behind a load balancer, and checks that every decision holds
// across them. B reaches Redis over TLS, checking its certificate against
// the system's roots (here, SSL_CERT_FILE: the test's CA).
func testTwoInstances(t *testing.T, bin string, dex *fakegw.Dexatel, appAddr string) {
	srv := redistest.StartTLS(t)
	prefixKey := fmt.Sprintf("it%d:", rand.Uint32())
	redisOpts := func(addr, more string) string {
		return fmt.Sprintf("store redis {\n\t\t\taddress %s\n\t\t\tkey_prefix %s\n\t\t\ttimeout 300ms\n%s\t\t}", addr, prefixKey, more)
	}
	twin := func(name, store string, env ...string) *instance {
		return startInstance(t, bin, name, instanceConfig{
			storage: t.TempDir(), // separate: only Redis and the secret are shared
			otp:     store + "\n\t\tsecret " + sharedSecret + "\n\t\tlimit_ip 1000",
			dexURL:  dex.URL(), appAddr: appAddr, env: env, admin: name == "A",
		})
	}
	a := twin("A", redisOpts(srv.Addr, ""))
	b := twin("B", redisOpts(srv.TLSAddr, "\t\t\ttls\n"), "SSL_CERT_FILE="+srv.CAFile)

	t.Run("code sent by A verifies on B, once", func(t *testing.T) {
		const phone = "+12015550201"
		v := newVisitor()
		a.with(v).postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})
		challenge := a.with(v).cookie(t, "otp_session_challenge", prefix+"/verify")
		code := dex.ReadCode(t, phone)
		b.with(v).postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 200, map[string]any{"status": "verified"})
		for _, in := range []*instance{a, b} {
			e := in.with(v).get(t, "/app/x").echo(t)
			if got := e.Headers["X-Verified-Phone"]; len(got) != 1 || got[0] != phone {
				t.Errorf("upstream of %s got X-Verified-Phone %q, want %s", in.name, got, phone)
			}
		}
		// The same code with the same challenge, replayed on A: used up.
		replay := newVisitor()
		u, _ := url.Parse(a.url(prefix + "/verify"))
		replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "otp_session_challenge", Value: challenge, Path: prefix}})
		a.with(replay).postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 410, map[string]any{"error": "expired"})
	})

	t.Run("wrong codes count on both and the block holds on both", func(t *testing.T) {
		const phone = "+12015550202"
		v := newVisitor()
		a.with(v).postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, nil)
		code := dex.ReadCode(t, phone)
		wrong := `{"code":"` + otherCode(code) + `"}`
		a.with(v).postJSON(t, prefix+"/verify", wrong).wantJSON(t, 401, map[string]any{"attempts_left": 2})
		b.with(v).postJSON(t, prefix+"/verify", wrong).wantJSON(t, 401, map[string]any{"attempts_left": 1})
		r := a.with(v).postJSON(t, prefix+"/verify", wrong)
		r.wantRetryAfter(t, r.wantJSON(t, 429, map[string]any{"error": "blocked"}), 14*60, 15*60)
		// On B: the right code is refused, and so is a new code.
		b.with(v).postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})
		other := newVisitor()
		b.with(other).postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})
		if n := dex.Sent(phone); n != 1 {
			t.Errorf("%d SMS to the blocked phone, want 1", n)
		}
	})

	t.Run("resend_after set on A holds on B", func(t *testing.T) {
		const phone = "+12015550203"
		a.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, nil)
		r := b.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`)
		r.wantRetryAfter(t, r.wantJSON(t, 429, map[string]any{"error": "rate_limited"}), 25, 30)
		if n := dex.Sent(phone); n != 1 {
			t.Errorf("%d SMS sent, want 1", n)
		}
	})

	t.Run("logout on A is pushed to B: no store read on B's authenticated path", func(t *testing.T) {
		const phone = "+12015550204"
		v := newVisitor()
		tok := login(t, dex, a.with(v), phone)
		thief := newVisitor()
		b.with(thief).get(t, "/app/x", "Cookie", "otp_session="+tok).echo(t)
		// Steady state: a session B has verified costs B no store call,
		// however often and however long it is used.
		reads := storeReads(t, srv)
		for range 20 {
			b.with(thief).get(t, "/app/x", "Cookie", "otp_session="+tok).echo(t)
			time.Sleep(60 * time.Millisecond) // past any once-a-second poll
		}
		if n := storeReads(t, srv) - reads; n != 0 {
			t.Fatalf("20 authenticated requests on B made %d store reads, want 0", n)
		}
		a.with(v).postJSON(t, prefix+"/logout", ``).wantJSON(t, 200, map[string]any{"status": "logged_out"})
		// B learns of it from the push, not from Redis: still no read.
		start := time.Now()
		for {
			r := b.with(thief).get(t, "/app/x", "Cookie", "otp_session="+tok)
			if r.StatusCode == 401 {
				r.wantJSON(t, 401, map[string]any{"error": "otp_required"})
				break
			}
			if r.StatusCode != 200 || time.Since(start) > 2*time.Second {
				t.Fatalf("B answered %d %v after the logout on A: %.300s", r.StatusCode, time.Since(start), r.body)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("B refused the session %v after A answered the logout", time.Since(start))
		if n := storeReads(t, srv) - reads; n != 0 {
			t.Errorf("B saw the logout after %d store reads, want 0: it must be pushed", n)
		}
		a.with(thief).get(t, "/app/x", "Cookie", "otp_session="+tok).wantJSON(t, 401, map[string]any{"error": "otp_required"})
		b.with(thief).get(t, prefix+"/session", "Cookie", "otp_session="+tok).wantStatus(t, 401)
	})

	t.Run("50 parallel wrong guesses across A and B", func(t *testing.T) {
		const phone = "+12015550205"
		v := newVisitor()
		a.with(v).postJSON(t, prefix+"/send", `{"phone":"`+phone+`"}`).wantJSON(t, 200, nil)
		code := dex.ReadCode(t, phone)
		wrong := `{"code":"` + otherCode(code) + `"}`
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for i := range 50 {
			in := []*instance{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := in.with(v).try(http.MethodPost, prefix+"/verify", "application/json", wrong)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				statuses[r.StatusCode]++
			}()
		}
		wg.Wait()
		// Attempts 1 and 2 hear "wrong"; the rest "blocked", or
		// "expired" if the block dropped the code before they read it.
		if statuses[401] != 2 || statuses[429]+statuses[410] != 48 || statuses[429] == 0 {
			t.Errorf("statuses %v, want 2×401 and 48×429 or 410", statuses)
		}
		b.with(v).postJSON(t, prefix+"/verify", `{"code":"`+code+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})
	})

	t.Run("admin API on A sees and acts on what B did", func(t *testing.T) {
		// The phone blocked above, on A and B.
		const blocked = "+12015550202"
		got := a.adminCall(t, "GET", "/phone_otp/blocked", "")
		if !strings.Contains(fmt.Sprint(got["blocked"]), blocked) {
			t.Errorf("A's admin API does not list %s as blocked: %v", blocked, got)
		}
		a.adminCall(t, "POST", "/phone_otp/unblock", `{"phone":"`+blocked+`"}`)
		b.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"`+blocked+`"}`).wantJSON(t, 200, map[string]any{"status": "sent"})

		// The global budget counts B's sends.
		used := a.adminCall(t, "GET", "/phone_otp/budget", "")["used"]
		b.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"+12015550208"}`).wantJSON(t, 200, nil)
		if after := a.adminCall(t, "GET", "/phone_otp/budget", "")["used"]; fmt.Sprint(after) != fmt.Sprint(used.(float64)+1) {
			t.Errorf("budget used %v after one more send on B, was %v", after, used)
		}

		// Signing a phone out on A signs it out on B, by a push: B
		// makes no store read to learn it.
		const phone = "+12015550209"
		v := newVisitor()
		login(t, dex, b.with(v), phone)
		b.with(v).get(t, "/app/x").echo(t)
		a.adminCall(t, "POST", "/phone_otp/revoke", `{"phone":"`+phone+`"}`)
		reads := storeReads(t, srv)
		for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
			r := b.with(v).get(t, "/app/x")
			if r.StatusCode == 401 {
				break
			}
			if r.StatusCode != 200 || time.Since(start) > 2*time.Second {
				t.Fatalf("B answers %d %v after the phone was revoked on A", r.StatusCode, time.Since(start))
			}
		}
		if n := storeReads(t, srv) - reads; n != 0 {
			t.Errorf("B saw the admin revoke after %d store reads, want 0: it must be pushed", n)
		}
	})

	t.Run("shared storage and no secret", func(t *testing.T) {
		// The secret generated by the first instance to start is kept in
		// the shared storage, and the second loads it.
		shared := t.TempDir()
		cfg := instanceConfig{
			storage: shared, otp: redisOpts(srv.Addr, "") + "\n\t\tlimit_ip 1000",
			dexURL: dex.URL(), appAddr: appAddr,
		}
		c := startInstance(t, bin, "C", cfg)
		d := startInstance(t, bin, "D", cfg)
		v := newVisitor()
		login(t, dex, c.with(v), "+12015550206", walk{verify: d.with(v)})
		c.with(v).get(t, "/app/x").echo(t)
		d.with(v).get(t, "/app/x").echo(t)
		// B, with the configured secret, does not take their session.
		b.with(v).get(t, "/app/x").wantJSON(t, 401, map[string]any{"error": "otp_required"})
	})

	t.Run("tls checks the certificate", func(t *testing.T) {
		// Without the test CA among its roots, an instance must refuse
		// the server, fail closed, and say why.
		f := twin("F", redisOpts(srv.TLSAddr, "\t\t\ttls\n"))
		f.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"+12015550207"}`).wantJSON(t, 503, map[string]any{"error": "unavailable"})
		found := false
		for _, l := range f.logLines() {
			found = found || (l.Level == "error" && strings.Contains(l.Error, "certificate"))
		}
		if !found {
			t.Errorf("no ERROR line about the certificate in F's log:\n%s", f.log.String())
		}
	})
}

// testOutage starts Caddy while its Redis is down, then stops and then
// freezes the Redis behind the running Caddy: while Redis is gone every
// send and verify answers 503, and so does a protected route once its
// subscription to revocations is lost, which it notices at once (never 200 after that);
// once Redis is back, service resumes with no restart; and the log tells
// each outage once.
func testOutage(t *testing.T, bin string, dex *fakegw.Dexatel, appAddr string) {
	srv := redistest.Start(t)
	srv.Stop()
	in := startInstance(t, bin, "E", instanceConfig{
		storage: t.TempDir(),
		otp:     "store redis " + srv.Addr + " {\n\t\t\ttimeout 300ms\n\t\t}\n\t\tsecret " + sharedSecret + "\n\t\tresend_after 1s",
		dexURL:  dex.URL(), appAddr: appAddr,
	})
	// Down at start-up: Caddy runs, and fails closed until Redis comes.
	const early = "+12015550300"
	in.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"`+early+`"}`).wantJSON(t, 503, map[string]any{"error": "unavailable"})
	srv.Restart()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := in.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"`+early+`"}`)
		if r.StatusCode == 200 {
			break
		}
		if r.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("send once Redis is up: %d %.300s", r.StatusCode, r.body)
		}
	}
	if n := dex.Sent(early); n != 1 {
		t.Errorf("%d SMS to %s, want 1", n, early)
	}

	v := newVisitor()
	login(t, dex, in.with(v), "+12015550301")
	in.with(v).get(t, "/app/x").echo(t)
	pending := newVisitor()
	in.with(pending).postJSON(t, prefix+"/send", `{"phone":"+12015550302"}`).wantJSON(t, 200, nil)
	sentBefore := dex.Sent("+12015550302")

	// refused checks that every kind of request fails closed, rounds
	// times, each in well under the client's patience.
	refused := func(phase string, rounds int) {
		t.Helper()
		for range rounds {
			for _, req := range []struct {
				name string
				do   func() *response
			}{
				{"send", func() *response {
					return in.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"+12015550303"}`)
				}},
				{"verify", func() *response {
					return in.with(pending).postJSON(t, prefix+"/verify", `{"code":"123456"}`)
				}},
				{"protected API call", func() *response { return in.with(v).get(t, "/app/x") }},
				{"protected page", func() *response { return in.with(v).get(t, "/app/x", "Accept", "text/html") }},
				{"session", func() *response { return in.with(v).get(t, prefix+"/session") }},
			} {
				start := time.Now()
				r := req.do()
				if r.StatusCode != 503 {
					t.Fatalf("%s: %s answered %d, want 503: %.300s", phase, req.name, r.StatusCode, r.body)
				}
				r.wantJSON(t, 503, map[string]any{"error": "unavailable"})
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("%s: %s took %v", phase, req.name, d)
				}
			}
		}
	}
	// back polls every 100ms, for up to 5s, until the protected route
	// answers again, then checks a whole new login. A Redis that came
	// back empty lost every revocation, so the session from before is
	// refused (docs/several-instances.md, "When Redis comes back empty") and v signs in again.
	back := func(phase, phone string, lost bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := in.with(v).get(t, "/app/x")
			if r.StatusCode == 200 && !lost {
				r.echo(t)
				break
			}
			if r.StatusCode == 401 && lost {
				// Sessions issued in the second of the loss's detection
				// are refused too (whole-second iat): sign in after it.
				for s := time.Now().Unix(); time.Now().Unix() == s; {
					time.Sleep(20 * time.Millisecond)
				}
				login(t, dex, in.with(v), "+12015550301")
				break
			}
			if r.StatusCode != 503 || time.Now().After(deadline) {
				t.Fatalf("%s: protected route answers %d: %.300s", phase, r.StatusCode, r.body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		login(t, dex, in.with(newVisitor()), phone)
	}

	// settle polls the protected route every 100ms until the session's
	// check fails: an instance trusts a session it checked within the last
	// second, and not longer.
	settle := func(phase string) {
		t.Helper()
		start := time.Now()
		for {
			r := in.with(v).get(t, "/app/x")
			if r.StatusCode == 503 {
				return
			}
			if r.StatusCode != 200 || time.Since(start) > 2*time.Second {
				t.Fatalf("%s: protected route answers %d %v after the outage began: %.300s", phase, r.StatusCode, time.Since(start), r.body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	srv.Stop()
	settle("stopped")
	refused("stopped", 4)
	if n := dex.Sent("+12015550303"); n != 0 {
		t.Errorf("%d SMS sent while the store was down", n)
	}
	srv.Restart()
	back("restarted", "+12015550304", true)

	srv.Freeze()
	settle("frozen")
	refused("frozen", 2)
	srv.Thaw()
	back("thawed", "+12015550305", false)
	if n := dex.Sent("+12015550302"); n != sentBefore {
		t.Errorf("the pending phone got %d more SMS", n-sentBefore)
	}

	// The log: one ERROR line per outage, with its cause, one INFO line
	// when it ends, one ERROR line for the data the restart lost, and no
	// error of any other kind, however many requests failed in between.
	var down, up, lost []logLine
	for _, l := range in.logLines() {
		switch {
		case l.Level == "error" && strings.HasPrefix(l.Msg, "redis store unavailable"):
			down = append(down, l)
		case l.Level == "error" && strings.HasPrefix(l.Msg, "redis store data lost"):
			lost = append(lost, l)
		case l.Level == "info" && l.Msg == "redis store is back":
			up = append(up, l)
		case l.Level == "error" || l.Level == "raw" || strings.Contains(l.raw, "failed to dial"):
			t.Errorf("unexpected log line: %s", l.raw)
		}
	}
	if len(down) != 3 || len(up) != 3 || len(lost) != 1 {
		t.Fatalf("%d outage, %d recovery and %d data-lost lines, want 3, 3 and 1:\n%s", len(down), len(up), len(lost), in.log.String())
	}
	if e := down[0].Error; !strings.Contains(e, "connection refused") {
		t.Errorf("start-up outage line's cause %q, want the refused connection", e)
	}
	if e := down[1].Error; !strings.Contains(e, "connection refused") && !strings.Contains(e, "EOF") && !strings.Contains(e, "reset") {
		t.Errorf("second outage line's cause %q, want the lost connection", e)
	}
	if e := down[2].Error; !strings.Contains(e, "no answer within 300ms") {
		t.Errorf("third outage line's cause %q, want the timeout", e)
	}
	for _, l := range append(down, up...) {
		if l.Logger != "http.handlers.phone_otp.store.redis" {
			t.Errorf("outage logged by %q, want the redis store's logger", l.Logger)
		}
	}
}

// storeReads is how many reads Redis has served in all (GET, and the
// store's scripts, all of which read): INFO commandstats.
func storeReads(t *testing.T, srv *redistest.Server) int {
	t.Helper()
	info, err := srv.Do("INFO", "commandstats")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		switch name {
		case "cmdstat_get", "cmdstat_eval", "cmdstat_evalsha", "cmdstat_eval_ro", "cmdstat_evalsha_ro", "cmdstat_exists":
			calls, _, _ := strings.Cut(rest, ",")
			var c int
			fmt.Sscan(calls, &c)
			n += c
		}
	}
	return n
}

// otherCode is a code of the same length that is not code.
func otherCode(code string) string {
	if strings.HasPrefix(code, "0") {
		return "1" + code[1:]
	}
	return "0" + code[1:]
}
