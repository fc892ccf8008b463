package memory

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patrickmn/go-cache"
)

// BenchmarkSweepPause fills the store with a million entries that have
// expired, then sweeps them while another goroutine keeps reading a live
// key, and reports the longest single read during the sweep beside the
// longest read with no sweep. Run with -benchtime 1x.
func BenchmarkSweepPause(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		m := New(nil)
		m.Set(ctx, "live", []byte("x"), time.Hour)
		for j := 0; j < 1_000_000; j++ {
			m.Set(ctx, fmt.Sprintf("otp:c:+1201%07d", j), make([]byte, 24), time.Millisecond)
		}
		time.Sleep(5 * time.Millisecond)

		longestRead := func(during func()) time.Duration {
			var stop atomic.Bool
			var longest time.Duration
			done := make(chan struct{})
			go func() {
				defer close(done)
				for !stop.Load() {
					t0 := time.Now()
					m.Get(ctx, "live")
					longest = max(longest, time.Since(t0))
				}
			}()
			during()
			stop.Store(true)
			<-done
			return longest
		}
		idle := longestRead(func() { time.Sleep(200 * time.Millisecond) })
		var took time.Duration
		sweeping := longestRead(func() {
			t0 := time.Now()
			m.mem.sweepAll()
			took = time.Since(t0)
		})
		left := 0
		for i := range m.mem.stripes {
			left += m.mem.stripes[i].c.ItemCount()
		}
		if left != 1 {
			b.Fatalf("%d entries after the sweep, want the 1 live one", left)
		}

		// The same sweep with one go-cache for all keys, as a baseline:
		// its single lock is held for the whole sweep.
		one := cache.New(cache.NoExpiration, 0)
		one.Set("live", "x", time.Hour)
		for j := 0; j < 1_000_000; j++ {
			one.Set(fmt.Sprintf("otp:c:+1201%07d", j), "x", time.Millisecond)
		}
		time.Sleep(5 * time.Millisecond)
		var stop atomic.Bool
		var single time.Duration
		done := make(chan struct{})
		go func() {
			defer close(done)
			for !stop.Load() {
				t0 := time.Now()
				one.Get("live")
				single = max(single, time.Since(t0))
			}
		}()
		one.DeleteExpired()
		stop.Store(true)
		<-done
		b.ReportMetric(float64(single.Microseconds()), "max-read-single-lock-µs")
		b.ReportMetric(float64(took.Milliseconds()), "sweep-ms")
		b.ReportMetric(float64(sweeping.Microseconds()), "max-read-sweeping-µs")
		b.ReportMetric(float64(idle.Microseconds()), "max-read-idle-µs")
		m.Cleanup()
	}
}
