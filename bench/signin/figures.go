package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// cpu is Caddy's CPU time so far (user and system), in seconds; 0 without
// its process id.
func (b *bench) cpu() float64 {
	if b.caddyPID == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", b.caddyPID))
	if err != nil {
		fail("Caddy's CPU time: %v", err)
	}
	// The fields after the command's closing parenthesis; utime and
	// stime are the 14th and 15th of the whole line.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return float64(ut+st) / float64(b.hz)
}

// snapshot is what the stores had done so far.
type snapshot struct {
	cmds           map[string]int64
	trips          int64
	tripsAvailable bool
}

func (b *bench) snapshot() snapshot {
	var sn snapshot
	if b.rdb != nil {
		info, err := b.rdb.Info(context.Background(), "commandstats").Result()
		if err != nil {
			fail("redis INFO commandstats: %v", err)
		}
		sn.cmds = parseCommandStats(info)
	}
	if b.admin != "" {
		sn.trips, sn.tripsAvailable = roundTrips(b.admin)
	}
	return sn
}

// minus is what the stores did between s0 and sn: the store's Redis
// commands by name, and the round trips (with whether Caddy counts them).
func (sn snapshot) minus(s0 snapshot) (map[string]int64, int64, bool) {
	d := map[string]int64{}
	for name, n := range sn.cmds {
		if n -= s0.cmds[name]; n > 0 {
			d[name] = n
		}
	}
	return d, sn.trips - s0.trips, sn.tripsAvailable && s0.tripsAvailable
}

// upkeep are commands that are no store call of a request: the bench's own
// (INFO, CONFIG) and connection upkeep.
var upkeep = map[string]bool{
	"info": true, "config": true, "ping": true, "hello": true, "client": true, "select": true, "auth": true,
	"subscribe": true, "psubscribe": true, "ssubscribe": true, "unsubscribe": true, "punsubscribe": true,
	"sunsubscribe": true, "command": true, "readonly": true,
}

// parseCommandStats reads INFO commandstats ("cmdstat_get:calls=3,…") into
// calls by upper-case command name, upkeep left out.
func parseCommandStats(info string) map[string]int64 {
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		name = strings.TrimPrefix(name, "cmdstat_")
		base, _, _ := strings.Cut(name, "|")
		if upkeep[base] {
			continue
		}
		var calls int64
		if _, err := fmt.Sscanf(rest, "calls=%d", &calls); err == nil {
			out[strings.ToUpper(name)] = calls
		}
	}
	return out
}

// roundTripsMetric is the counter of the store's round trips, where
// Caddy has it.
const roundTripsMetric = "caddy_phone_otp_store_round_trips_total"

// roundTrips sums every series of roundTripsMetric on the admin
// endpoint's /metrics; false when the counter is not there.
func roundTrips(admin string) (int64, bool) {
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		fail("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		fail("GET /metrics: %v", err)
	}
	return sumMetric(string(raw), roundTripsMetric)
}

// sumMetric sums the series of the counter name in a Prometheus text
// exposition; an exposed counter with no series yet is 0, true.
func sumMetric(text, name string) (int64, bool) {
	var sum float64
	seen := false
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "#" && f[2] == name:
			seen = true
		case len(f) >= 2 && (f[0] == name || strings.HasPrefix(f[0], name+"{")):
			var v float64
			if _, err := fmt.Sscan(f[len(f)-1], &v); err == nil {
				sum += v
				seen = true
			}
		}
	}
	return int64(sum), seen
}
