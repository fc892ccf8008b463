package flow

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/internal/redistest"
	"github.com/caddyotp/caddyotp/sms"
	"github.com/caddyotp/caddyotp/store/redis"
)

// newRedisFlow is newTestFlow on a Redis store on srv. The flow's clock
// still dates challenges; Redis expires keys in real time.
func newRedisFlow(t *testing.T, srv *redistest.Server, sender sms.Provider) *Flow {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	r := &redis.Redis{Address: []string{srv.Addr}, KeyPrefix: "flow:" + t.Name() + ":"}
	if err := r.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Cleanup() })
	f := newTestFlow(newClock(), sender)
	f.Store = r
	return f
}

// countingRemote counts the codes a remote provider is asked to compare.
type countingRemote struct {
	*remoteSMS
	checks atomic.Int32
}

func (c *countingRemote) Check(ctx context.Context, phone, code, ref string) (bool, error) {
	c.checks.Add(1)
	return c.remoteSMS.Check(ctx, phone, code, ref)
}

// guess50 sends 50 parallel wrong guesses at ch and counts the answers by
// kind.
func guess50(f *Flow, ch Challenge, wrong string) map[Kind]int {
	var mu sync.Mutex
	got := map[Kind]int{}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := refusalKind(f.Verify(context.Background(), ch, wrong))
			mu.Lock()
			got[k]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return got
}

// Attempts are reserved in Redis before a code is compared, so 50 parallel
// wrong guesses get max_attempts comparisons however they interleave.
func TestFlowRedisParallelGuesses(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()

	t.Run("local check", func(t *testing.T) {
		fs := &fakeSMS{}
		f := newRedisFlow(t, srv, fs)
		ch, err := f.Send(ctx, phoneA, ipA, "h")
		if err != nil {
			t.Fatal(err)
		}
		code := fs.Last(t).Code
		got := guess50(f, ch.Challenge, wrongCode(code))
		// The holders of attempts 1 and 2 hear "wrong, try again"; the
		// third wrong comparison blocks, and every other guess is told
		// "blocked", or "expired" if the block dropped the code first.
		if got[InvalidCode] != f.MaxAttempts-1 || got[Blocked]+got[Expired] != 50-(f.MaxAttempts-1) || got[Blocked] == 0 {
			t.Errorf("answers by kind %v, want %d invalid_code and the rest blocked or expired", got, f.MaxAttempts-1)
		}
		if k := refusalKind(f.Verify(ctx, ch.Challenge, code)); k != Blocked {
			t.Errorf("the right code after the flood: kind %d, want blocked", k)
		}
	})

	t.Run("remote check", func(t *testing.T) {
		rs := &countingRemote{remoteSMS: &remoteSMS{Codes: map[string]string{}}}
		f := newRedisFlow(t, srv, rs)
		ch, err := f.Send(ctx, phoneA, ipA, "h")
		if err != nil {
			t.Fatal(err)
		}
		code := rs.Code(phoneA)
		got := guess50(f, ch.Challenge, wrongCode(code))
		if n := int(rs.checks.Load()); n != f.MaxAttempts {
			t.Errorf("%d codes compared, want max_attempts = %d (answers %v)", n, f.MaxAttempts, got)
		}
		if k := refusalKind(f.Verify(ctx, ch.Challenge, code)); k != Blocked {
			t.Errorf("the right code after the flood: kind %d, want blocked", k)
		}
	})
}

// A code is consumed once in Redis: of parallel right answers, one wins.
func TestFlowRedisCodeUsedOnce(t *testing.T) {
	srv := redistest.Start(t)
	fs := &fakeSMS{}
	f := newRedisFlow(t, srv, fs)
	// Enough attempts that none of the 50 is turned away before comparing.
	f.MaxAttempts = 100
	ch, err := f.Send(context.Background(), phoneA, ipA, "h")
	if err != nil {
		t.Fatal(err)
	}
	got := guess50(f, ch.Challenge, fs.Last(t).Code)
	if got[0] != 1 || got[Expired] != 49 {
		t.Errorf("answers by kind %v, want one success (kind 0) and 49 expired", got)
	}
}

// With Redis gone the flow fails closed, sends no SMS, and works again
// once Redis is back.
func TestFlowRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	fs := &fakeSMS{}
	f := newRedisFlow(t, srv, fs)
	ctx := context.Background()
	ch, err := f.Send(ctx, phoneA, ipA, "h")
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if k := refusalKind(mustFail(f.Send(ctx, phoneB, ipA, "h"))); k != Unavailable {
		t.Errorf("send: kind %d, want unavailable", k)
	}
	if k := refusalKind(f.Verify(ctx, ch.Challenge, fs.Last(t).Code)); k != Unavailable {
		t.Errorf("verify: kind %d, want unavailable", k)
	}
	if fs.Count() != 1 {
		t.Errorf("%d SMS sent, want only the one before the outage", fs.Count())
	}
	srv.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := f.Send(ctx, phoneB, ipA, "h")
		if err == nil {
			break
		}
		if refusalKind(err) != Unavailable || time.Now().After(deadline) {
			t.Fatalf("send after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := f.Verify(ctx, ch.Challenge, "000000"); refusalKind(err) != Expired {
		// The restarted Redis is empty: the old code is gone.
		t.Errorf("verify of a code the restart lost: %v, want expired", err)
	}
}
