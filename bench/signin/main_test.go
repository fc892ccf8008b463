package main

import (
	"maps"
	"testing"
)

// TestVisitors: every visitor's numbers are valid mobile numbers of its
// country, new for each sign-in, over prefixes no other visitor has, and
// each visitor has a client IP of its own.
func TestVisitors(t *testing.T) {
	vs := newVisitors(64)
	ips, owner, nums := map[string]bool{}, map[string]int{}, map[string]bool{}
	for i, v := range vs {
		if ips[v.ip] {
			t.Fatalf("visitor %d shares the IP %s", i, v.ip)
		}
		ips[v.ip] = true
		for range 3 * prefixesPerVisitor {
			num := v.next()
			if nums[num] {
				t.Fatalf("visitor %d: %s again", i, num)
			}
			nums[num] = true
			if !isMobile(num, v.country) {
				t.Fatalf("visitor %d: %s is no mobile number of %s", i, num, v.country)
			}
			p := num[:len(num)-4]
			if o, ok := owner[p]; ok && o != i {
				t.Fatalf("visitors %d and %d share the prefix %s", o, i, p)
			}
			owner[p] = i
		}
	}
	if len(owner) != 64*prefixesPerVisitor {
		t.Errorf("%d prefixes, want %d", len(owner), 64*prefixesPerVisitor)
	}
}

func TestParseCommandStats(t *testing.T) {
	info := "# Commandstats\r\ncmdstat_get:calls=12,usec=30,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_evalsha:calls=3,usec=9\r\ncmdstat_info:calls=7,usec=1\r\ncmdstat_client|setinfo:calls=2,usec=1\r\n"
	got := parseCommandStats(info)
	if want := map[string]int64{"GET": 12, "EVALSHA": 3}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSumMetric(t *testing.T) {
	for _, tc := range []struct {
		text string
		sum  int64
		ok   bool
	}{
		{"caddy_phone_otp_codes_sent_total 3\n", 0, false},
		{"# HELP caddy_phone_otp_store_round_trips_total x\n# TYPE caddy_phone_otp_store_round_trips_total counter\n", 0, true},
		{"caddy_phone_otp_store_round_trips_total 41\n", 41, true},
		{`caddy_phone_otp_store_round_trips_total{op="send"} 4` + "\n" + `caddy_phone_otp_store_round_trips_total{op="verify"} 2` + "\n" +
			"caddy_phone_otp_store_round_trips_totalx 100\n", 6, true},
	} {
		if sum, ok := sumMetric(tc.text, roundTripsMetric); sum != tc.sum || ok != tc.ok {
			t.Errorf("%q: got %d %v, want %d %v", tc.text, sum, ok, tc.sum, tc.ok)
		}
	}
}

// TestSoakParsers: the soak's readings of /proc/PID/status and of a
// goroutine profile's first line.
func TestSoakParsers(t *testing.T) {
	if got := vmRSS("Name:\tcaddy\nVmPeak:\t  900 kB\nVmRSS:\t  123456 kB\nVmData:\t 1 kB\n"); got != 123456 {
		t.Fatalf("vmRSS = %d, want 123456", got)
	}
	if got := goroutineTotal("goroutine profile: total 83\n5 @ 0x1\n"); got != 83 {
		t.Fatalf("goroutineTotal = %d, want 83", got)
	}
	if vmRSS("") != 0 || goroutineTotal("") != 0 {
		t.Fatal("nothing to read must be 0")
	}
}
