package caddyotp_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fakegw"
	"github.com/caddyotp/caddyotp/internal/redistest"
)

// A failover under test: the store block the instances use, and how to
// wait for the replicas, kill the master and tell that a replica took over.
type failover struct {
	store    string
	caughtUp func()
	kill     func()
	promoted func() bool
}

// sentinelFailover is a Sentinel-watched master with one replica; the
// master dies and Sentinel promotes the replica.
func sentinelFailover(t *testing.T) failover {
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	sentinel := redistest.StartSentinel(t, master)
	sentinel.WaitForReplicas(1)
	return failover{
		store: fmt.Sprintf("store redis {\n\t\t\taddress %s\n\t\t\tmaster_name %s\n\t\t\tkey_prefix fo%d:\n\t\t\ttimeout 300ms\n\t\t}",
			sentinel.Addr, redistest.SentinelMaster, rand.Uint32()),
		caughtUp: func() { replica.CaughtUp(master) },
		kill:     master.Stop,
		promoted: func() bool { return replica.Role() == "master" },
	}
}

// clusterFailover is a Redis Cluster of three masters with a replica
// each; the master that holds the revocation channel dies and its replica
// is promoted by the cluster.
func clusterFailover(t *testing.T) failover {
	c := redistest.StartClusterReplicated(t)
	prefix := fmt.Sprintf("fo%d:", rand.Uint32())
	owner := c.NodeFor(t, prefix+"revocations")
	return failover{
		store: fmt.Sprintf("store redis {\n\t\t\taddress %s\n\t\t\tkey_prefix %s\n\t\t\ttimeout 300ms\n\t\t}",
			strings.Join(c.Addrs(), " "), prefix),
		caughtUp: func() { c.CaughtUp(t) },
		kill:     owner.Stop,
		promoted: func() bool { n := c.NodeFor(t, prefix+"revocations"); return n != owner && n.Role() == "master" },
	}
}

// testFailover runs two instances on the store of f, and kills its
// master while sign-ins and protected requests are under way. A replica
// is promoted; the instances follow it. Every request in the meantime is
// answered as before or 503 (never a pass it should not be, never another
// 5xx), and afterwards the block, the resend limit and the revocations
// made before the kill hold, and a new logout is still pushed from one
// instance to the other.
func testFailover(t *testing.T, bin string, dex *fakegw.Dexatel, appAddr string, f failover) {
	twin := func(name string) *instance {
		return startInstance(t, bin, name, instanceConfig{
			storage: t.TempDir(),
			otp:     f.store + "\n\t\tsecret " + sharedSecret + "\n\t\tlimit_ip 1000",
			dexURL:  dex.URL(), appAddr: appAddr,
		})
	}
	a, b := twin("A"), twin("B")

	// Before the kill: a signed-in visitor, a logged-out one (whose
	// token a thief kept), a blocked phone and a phone inside its resend
	// gap.
	v := newVisitor()
	login(t, dex, a.with(v), "+12015550401")
	b.with(v).get(t, "/app/x").echo(t)
	gone := newVisitor()
	stolen := login(t, dex, a.with(gone), "+12015550402")
	b.with(gone).get(t, "/app/x").echo(t)
	a.with(gone).postJSON(t, prefix+"/logout", ``).wantJSON(t, 200, nil)
	thief := newVisitor()
	const blocked, waiting = "+12015550403", "+12015550404"
	bv := newVisitor()
	a.with(bv).postJSON(t, prefix+"/send", `{"phone":"`+blocked+`"}`).wantJSON(t, 200, nil)
	wrongCode := `{"code":"` + otherCode(dex.ReadCode(t, blocked)) + `"}`
	for range 3 {
		b.with(bv).postJSON(t, prefix+"/verify", wrongCode)
	}
	a.with(bv).postJSON(t, prefix+"/verify", wrongCode).wantJSON(t, 429, map[string]any{"error": "blocked"})
	a.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"`+waiting+`"}`).wantJSON(t, 200, nil)
	f.caughtUp() // replication is asynchronous: see the docs

	// Flows, one after another, while the master dies after the third.
	statuses := map[string]map[int]int{}
	count := func(what string, r *response, err error, allowed ...int) int {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if statuses[what] == nil {
			statuses[what] = map[int]int{}
		}
		statuses[what][r.StatusCode]++
		for _, s := range allowed {
			if r.StatusCode == s {
				return s
			}
		}
		t.Fatalf("%s during the failover: %d, want one of %v: %.300s", what, r.StatusCode, allowed, r.body)
		return 0
	}
	killed, recovered, completed := false, false, 0
	start := time.Now()
	for i := 0; ; i++ {
		if i == 3 {
			f.kill()
			killed = true
		}
		in := []*instance{a, b}[i%2]
		other := []*instance{a, b}[(i+1)%2]
		phone := fmt.Sprintf("+1201555%04d", 1000+i)
		fresh := newVisitor()
		r, err := in.with(fresh).try(http.MethodPost, prefix+"/send", "application/json", `{"phone":"`+phone+`"}`)
		ok := count("send", r, err, 200, 503) == 200
		if ok {
			r, err = other.with(fresh).try(http.MethodPost, prefix+"/verify", "application/json", `{"code":"`+dex.ReadCode(t, phone)+`"}`)
			// 410: a code written in the instant before the kill may not have
			// reached the replica (replication is asynchronous).
			ok = count("verify", r, err, 200, 410, 503) == 200
		}
		if ok {
			r, err = in.with(fresh).try(http.MethodGet, "/app/x", "", "")
			ok = count("new session", r, err, 200, 503) == 200
		}
		r, err = in.with(v).try(http.MethodGet, "/app/x", "", "")
		ok = count("old session", r, err, 200, 503) == 200 && ok
		r, err = other.with(thief).try(http.MethodGet, "/app/x", "", "", "Cookie", "otp_session="+stolen)
		count("revoked session", r, err, 401, 503)
		if ok {
			completed++
		}
		if killed && ok && f.promoted() {
			recovered = true
		}
		if recovered && completed >= 6 {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("no whole flow through both instances 30s after the kill: %v", statuses)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("statuses during the failover: %v", statuses)
	if statuses["old session"][503] == 0 && statuses["send"][503] == 0 {
		t.Log("no request met the failover (it was quicker than the flows)")
	}

	// Afterwards, on the promoted replica: what was decided before holds.
	for _, in := range []*instance{a, b} {
		in.with(thief).get(t, "/app/x", "Cookie", "otp_session="+stolen).wantJSON(t, 401, map[string]any{"error": "otp_required"})
		in.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"`+blocked+`"}`).wantJSON(t, 429, map[string]any{"error": "blocked"})
		in.with(newVisitor()).postJSON(t, prefix+"/send", `{"phone":"`+waiting+`"}`).wantJSON(t, 429, map[string]any{"error": "rate_limited"})
		in.with(v).get(t, "/app/x").echo(t)
	}
	// And a logout on B is pushed to A through the new master.
	tok := login(t, dex, b.with(newVisitor()), "+12015550405")
	later := newVisitor()
	a.with(later).get(t, "/app/x", "Cookie", "otp_session="+tok).echo(t)
	logout := newVisitor()
	b.with(logout).get(t, "/app/x", "Cookie", "otp_session="+tok).echo(t)
	b.with(logout).postJSON(t, prefix+"/logout", ``, "Cookie", "otp_session="+tok).wantJSON(t, 200, nil)
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		r := a.with(later).get(t, "/app/x", "Cookie", "otp_session="+tok)
		if r.StatusCode == 401 {
			break
		}
		if r.StatusCode != 200 || time.Now().After(deadline) {
			t.Fatalf("A answers %d for a session logged out on B after the failover", r.StatusCode)
		}
	}
}
