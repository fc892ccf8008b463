package fakegw

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Slow is an HTTP SMS gateway as an attacker meets it: it takes every
// SMS it is sent, codes in the URL path (/d/{phone}/{code}), and then
// answers as its mode says: "" 200, "refuse" 400, "5xx" 503, "hang"
// (holds the answer past the plugin's timeout), "garbage" (no HTTP at
// all) or "reset" (closes the connection once it read the request). A
// number it cannot reach (Unreachable) it refuses with 400 "invalid
// number" whatever the mode, as real gateways do.
type Slow struct {
	server
	mode        string
	unreachable string
	taken       []string // "phone code" of every SMS taken, oldest first
	codes       []string // every code it was sent, taken or refused
}

// SlowPath is the path the Slow gateway takes, for a webhook's url.
const SlowPath = "/d/{phone}/{code}"

var gwPath = regexp.MustCompile(`^/d/(\+[0-9]+)/([0-9]+)$`)

// NewSlow starts a Slow gateway that takes every SMS; it ends with t.
func NewSlow(t testing.TB) *Slow {
	g := &Slow{}
	g.start(t, "slow gateway", g.serve)
	return g
}

// Set sets how the gateway answers (see Slow).
func (g *Slow) Set(mode string) {
	g.mu.Lock()
	g.mode = mode
	g.mu.Unlock()
}

// Unreachable makes the gateway refuse every SMS to phone.
func (g *Slow) Unreachable(phone string) {
	g.mu.Lock()
	g.unreachable = phone
	g.mu.Unlock()
}

func (g *Slow) serve(w http.ResponseWriter, r *http.Request) {
	m := gwPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		g.bad("path %s", r.URL.Path)
		http.NotFound(w, r)
		return
	}
	g.mu.Lock()
	mode := g.mode
	g.codes = append(g.codes, m[2])
	if m[1] == g.unreachable && g.unreachable != "" {
		g.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid number"})
		return
	}
	if mode != "refuse" {
		g.taken = append(g.taken, m[1]+" "+m[2])
	}
	g.mu.Unlock()
	switch mode {
	case "refuse":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid number " + m[1]})
	case "5xx":
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
	case "hang":
		g.hang(r)
	case "garbage", "reset":
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if mode == "garbage" {
			buf.WriteString("SMS OK " + m[2] + "\r\n\r\n")
			buf.Flush()
		}
		conn.Close()
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// Reached is how many SMS the gateway took.
func (g *Slow) Reached() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.taken)
}

// Took reports whether the gateway took an SMS for phone.
func (g *Slow) Took(phone string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.taken {
		if p, _, _ := strings.Cut(s, " "); p == phone {
			return true
		}
	}
	return false
}

// CodeFor is the last code the gateway took for phone.
func (g *Slow) CodeFor(t testing.TB, phone string) string {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := len(g.taken) - 1; i >= 0; i-- {
		if p, c, _ := strings.Cut(g.taken[i], " "); p == phone {
			return c
		}
	}
	t.Fatalf("the gateway took no SMS for %s", phone)
	return ""
}

// Codes is every code the gateway was sent, taken or refused.
func (g *Slow) Codes() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.codes...)
}
