package flow

import (
	"sync"
	"time"
)

// refusedHere remembers, in this process, the client networks whose last
// send this Flow refused for their own address (limit_ip), and until
// when: the router asks it before it reads a send's body, so that a flood
// from one client costs a map lookup a request, no store call and no
// parsing. It only repeats a refusal the store made; the store's own
// mark (`ir`, read in a send's first batch) carries it to the other
// instances. Bounded: when full it drops what has expired, and if
// nothing has, forgets all (a refusal forgotten costs one store round
// trip, which then remembers it again).
type refusedHere struct {
	mu sync.Mutex
	m  map[string]int64 // ipKey → until, unix ns
}

// maxRefusedHere bounds refusedHere: a few MB at most.
const maxRefusedHere = 1 << 16

func (r *refusedHere) note(net string, now, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]int64{}
	}
	if len(r.m) >= maxRefusedHere {
		for k, u := range r.m {
			if u <= now.UnixNano() {
				delete(r.m, k)
			}
		}
		if len(r.m) >= maxRefusedHere {
			clear(r.m)
		}
	}
	r.m[net] = until.UnixNano()
}

// left is how long net's refusal still stands at now; 0: none.
func (r *refusedHere) left(net string, now time.Time) time.Duration {
	r.mu.Lock()
	until, ok := r.m[net]
	r.mu.Unlock()
	if !ok {
		return 0
	}
	return max(time.Duration(until-now.UnixNano()), 0)
}

// IPRefused reports whether this Flow refused a send from ip's network
// for its address lately and the refusal still stands: then the router
// refuses the next send before reading its body, with no store call. A
// refusal another instance made is found in the send's first batch
// instead.
func (f *Flow) IPRefused(ip string) (Refusal, bool) {
	left := f.refused.left(ipKey(ip), f.Now())
	if left <= 0 {
		return Refusal{}, false
	}
	return Refusal{Kind: RateLimited, RetryAfter: max(left, time.Second), Limit: "ip", Again: true}, true
}
