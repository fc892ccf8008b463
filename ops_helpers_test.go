package caddyotp_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// adminURL is the running Caddy's admin endpoint.
func adminURL() string { return fmt.Sprintf("http://localhost:%d", ports()[0]) }

// admin sends a request to Caddy's admin endpoint.
func admin(t *testing.T, method, path, body string) *response {
	t.Helper()
	return adminAt(t, adminURL(), method, path, body)
}

// adminAt sends a request to the admin endpoint at base, JSON if it has
// a body.
func adminAt(t *testing.T, base, method, path, body string) *response {
	t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	return newVisitor().on(base).do(t, method, path, ctype, body)
}

// scrape reads Caddy's /metrics and returns the caddy_phone_otp_* samples,
// keyed by series as exposed: `name{label="value"}`.
func scrape(t *testing.T) map[string]float64 {
	t.Helper()
	r := admin(t, http.MethodGet, "/metrics", "")
	r.wantStatus(t, 200)
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(r.body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "caddy_phone_otp_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// recorded is one Caddy event seen by the recorder module.
type recorded struct {
	name   string
	origin string
	data   map[string]any
}

// events are what otp_test_recorder saw, for every test in the process.
var events struct {
	mu  sync.Mutex
	all []recorded
}

// eventsFor returns the events whose data names issuer.
func eventsFor(issuer string) []recorded {
	events.mu.Lock()
	defer events.mu.Unlock()
	var out []recorded
	for _, e := range events.all {
		if e.data["issuer"] == issuer {
			out = append(out, e)
		}
	}
	return out
}

func init() {
	caddy.RegisterModule(eventRecorder{})
}

// eventRecorder is an events handler module, as another plugin would
// write one: `events { on phone_otp.verified otp_test_recorder }`.
type eventRecorder struct{}

func (eventRecorder) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "events.handlers.otp_test_recorder",
		New: func() caddy.Module { return new(eventRecorder) },
	}
}

func (eventRecorder) Handle(_ context.Context, e caddy.Event) error {
	rec := recorded{name: e.Name(), data: map[string]any{}}
	if o := e.Origin(); o != nil {
		rec.origin = string(o.CaddyModule().ID)
	}
	for k, v := range e.Data {
		rec.data[k] = v
	}
	events.mu.Lock()
	events.all = append(events.all, rec)
	events.mu.Unlock()
	return nil
}

func (*eventRecorder) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	return nil
}
