package caddyotp_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's headless Chromium through the Chrome
// DevTools Protocol (chromedp) against the real Caddy of newEnv: pages,
// redirects, cookies, CSP and scripts are what a visitor's browser gets.

// chromiumPath finds Chromium. Without it the browser tests skip, except in
// CI (PHONE_OTP_CI=1), where a missing browser is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("PHONE_OTP_CI") == "1" {
		t.Fatal("chromium is not installed (apt-get install chromium); PHONE_OTP_CI=1 needs the browser tests to run")
	}
	t.Skip("chromium is not installed; skipping the browser tests")
	return ""
}

// tab is one browser tab, with everything its pages wrote to the console.
type tab struct {
	ctx context.Context

	mu      sync.Mutex
	console []string
}

// newBrowserTab starts a fresh Chromium (its own profile) and opens a tab.
func newBrowserTab(t *testing.T) *tab {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
	// The first run starts the browser, and a context that ends closes
	// it: so this one runs on the tab's own context, without a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m.String())
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		// CSP violations and script errors land in the console.
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, m := range tb.console {
			// A 4xx page (a refused form, re-rendered) is logged as a
			// failed load: that is the page working, not failing.
			if strings.Contains(m, "Failed to load resource") {
				continue
			}
			if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception") ||
				strings.Contains(m, "Content Security Policy") {
				t.Errorf("browser console: %s", m)
			}
		}
	})
	return tb
}

// do runs actions with a timeout, failing the test on error.
func (tb *tab) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v (at %s)\n%s", err, tb.location(t), tb.bodyText())
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// location is the page's path and query.
func (tb *tab) location(t *testing.T) string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	if err != nil {
		return "?"
	}
	return v
}

// bodyText is the page's text, for failure messages.
func (tb *tab) bodyText() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len(v) > 600 {
		v = v[:600] + "…"
	}
	return v
}

// text is the visible text of the first element sel matches.
func (tb *tab) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("browser: text of %s: %v (at %s)\n%s", sel, err, tb.location(t), tb.bodyText())
	}
	return v
}

// waitPath waits until the page is at path (path and query).
func (tb *tab) waitPath(t *testing.T, path string) {
	t.Helper()
	tb.until(t, `location.pathname + location.search === `+jsString(path)+` && document.readyState === "complete"`)
}

// until waits for a JavaScript condition to hold. Evaluating while a page
// is being replaced fails; that is a "not yet".
func (tb *tab) until(t *testing.T, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("browser: waited in vain for %s (at %s; %v)\n%s", cond, tb.location(t), err, tb.bodyText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call sends one protocol command to the tab.
func call[P, R any](t *testing.T, tb *tab, cmd cdp.Command[P, R], params P) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	r, err := chromedp.Call(ctx, cmd, params)
	if err != nil {
		t.Fatalf("browser: %s: %v", cmd.Method, err)
	}
	return r
}

func (tb *tab) acceptLanguage(t *testing.T, lang string) {
	t.Helper()
	call(t, tb, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
}

func (tb *tab) clearCookies(t *testing.T) {
	t.Helper()
	call(t, tb, network.ClearBrowserCookies, cdp.Empty{})
}

func (tb *tab) scripts(t *testing.T, on bool) {
	t.Helper()
	call(t, tb, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
}

func (tb *tab) colorScheme(t *testing.T, scheme string) {
	t.Helper()
	call(t, tb, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
}

// onNewDocument runs src in every page the tab loads, before its scripts.
func (tb *tab) onNewDocument(t *testing.T, src string) {
	t.Helper()
	call(t, tb, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
}

// screenshot writes the viewport as a PNG to $PHONE_OTP_SCREENSHOTS/name,
// when that is set (see docs/pages.md: screenshots).
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("PHONE_OTP_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
