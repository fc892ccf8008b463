package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// report prints the storm's figures: per site, sign-ins per second
// (median and range of the rounds), send and verify latency (p50, p99 of
// every round's), and the stores' work per sign-in; the redis/memory
// ratio of each round; and the counted phase's work per send and per
// verify.
func report(w io.Writer, command string, sites []site, conns int, dur time.Duration, rounds, counted int,
	res map[string][]roundResult, cnt map[string]countResult) {
	fmt.Fprintf(w, "\n== %s\n", command)
	fmt.Fprintf(w, "login storm: %d visitors at once, %d rounds of %s per site, the order rotated each round; each sign-in:\n", conns, rounds, dur)
	fmt.Fprintf(w, "  POST send with a new mobile number (%d countries, %d prefixes per visitor, %d in all; a client IP per visitor),\n",
		min(conns, len(countries)), prefixesPerVisitor, conns*prefixesPerVisitor)
	fmt.Fprintf(w, "  the code from the webhook provider's fake, POST verify, the session cookie checked\n")
	fmt.Fprintf(w, "  (Redis cmds: INFO commandstats deltas, upkeep such as PING and the bench's INFO left out; round trips:\n")
	fmt.Fprintf(w, "  %s delta, n/a where Caddy has no such counter)\n", roundTripsMetric)
	fmt.Fprintf(w, "  (Caddy CPU: ms of Caddy's CPU time per sign-in, from /proc, over all rounds)\n")
	fmt.Fprintf(w, "  %-7s %10s %-15s %-17s %-17s %9s %10s %11s  %s\n", "store", "sign-ins/s", "(range)", "send p50/p99 ms", "verify p50/p99 ms",
		"Caddy CPU", "Redis cmds", "round trips", "by command, per sign-in")
	rate := map[string][]float64{}
	for _, s := range sites {
		var send, verify []time.Duration
		var signins int
		cmds := map[string]int64{}
		var trips int64
		var cpu float64
		tripsOK := true
		for _, r := range res[s.name] {
			rate[s.name] = append(rate[s.name], float64(r.signins)/r.secs)
			send, verify = append(send, r.send...), append(verify, r.verify...)
			signins += r.signins
			for k, v := range r.cmds {
				cmds[k] += v
			}
			trips += r.trips
			cpu += r.caddyCPU
			tripsOK = tripsOK && r.tripsAvailable
		}
		lo, hi := minMax(rate[s.name])
		caddyCPU := "n/a"
		if cpu > 0 {
			caddyCPU = fmt.Sprintf("%.2f", cpu*1000/float64(signins))
		}
		fmt.Fprintf(w, "  %-7s %10.0f %-15s %-17s %-17s %9s %10s %11s  %s\n", s.name, median(rate[s.name]),
			fmt.Sprintf("(%.0f-%.0f)", lo, hi),
			fmt.Sprintf("%.2f / %.2f", ms(percentile(send, 0.50)), ms(percentile(send, 0.99))),
			fmt.Sprintf("%.2f / %.2f", ms(percentile(verify, 0.50)), ms(percentile(verify, 0.99))), caddyCPU,
			fmt.Sprintf("%.2f", float64(total(cmds))/float64(signins)), perEach(trips, tripsOK, signins), byCommand(cmds, signins))
	}
	if m, r := rate["memory"], rate["redis"]; len(m) > 0 && len(m) == len(r) {
		ratios := make([]float64, len(m))
		var each []string
		for i := range m {
			ratios[i] = r[i] / m[i]
			each = append(each, fmt.Sprintf("%.3f", ratios[i]))
		}
		lo, hi := minMax(ratios)
		fmt.Fprintf(w, "  redis/memory sign-ins/s: median %.3f (range %.3f-%.3f; each round %s)\n", median(ratios), lo, hi, strings.Join(each, " "))
	}

	fmt.Fprintf(w, "counted: %d sends, then their %d verifies, per site (the stores' work per send and per verify)\n", counted, counted)
	fmt.Fprintf(w, "  %-7s %-7s %10s %11s  %s\n", "store", "phase", "Redis cmds", "round trips", "by command")
	for _, s := range sites {
		c := cnt[s.name]
		fmt.Fprintf(w, "  %-7s %-7s %10.2f %11s  %s\n", s.name, "send", float64(total(c.sendCmds))/float64(c.n),
			perEach(c.sendTrips, c.tripsAvailable, c.n), byCommand(c.sendCmds, c.n))
		fmt.Fprintf(w, "  %-7s %-7s %10.2f %11s  %s\n", s.name, "verify", float64(total(c.verifyCmds))/float64(c.n),
			perEach(c.verifyTrips, c.tripsAvailable, c.n), byCommand(c.verifyCmds, c.n))
	}
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// byCommand is "EVALSHA=2.00 GET=1.00", per one of n, the most frequent
// first; "-" for none.
func byCommand(m map[string]int64, n int) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		if m[a] != m[b] {
			return int(m[b] - m[a])
		}
		return strings.Compare(a, b)
	})
	var out []string
	for _, k := range names {
		out = append(out, fmt.Sprintf("%s=%.2f", k, float64(m[k])/float64(n)))
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, " ")
}

func perEach(v int64, ok bool, n int) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", float64(v)/float64(n))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the nearest-rank q-quantile of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minMax(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	return slices.Min(xs), slices.Max(xs)
}
