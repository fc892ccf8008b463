package caddyotp

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pngFile writes a small PNG and returns its path.
func pngFile(t *testing.T) (string, []byte) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 0x23, G: 0x59, B: 0xd1, A: 0xff})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "logo.bin") // the name says nothing: the content does
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

func logoCfg(t *testing.T, extra string) string {
	return `{"sms":{"provider":"log"},"secret":"` + longSecret + `"` + extra + `}`
}

// TestLogoServed: the logo file is served at {prefix}/logo with the type
// its content has, an ETag that answers 304, a day's caching and a CSP
// of its own; every page shows it and names the site.
func TestLogoServed(t *testing.T) {
	path, data := pngFile(t)
	quoted, _ := json.Marshal(path)
	h, _ := newPageHandler(t, logoCfg(t, `,"logo":`+string(quoted)), newClock())
	v := newVisitor(t, h, "")
	w := v.do("GET", "/_otp/logo", nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), data) {
		t.Fatalf("logo: %d, %d bytes", w.Code, w.Body.Len())
	}
	hd := w.Header()
	for k, want := range map[string]string{
		"Content-Type": "image/png", "X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=86400",
	} {
		if hd.Get(k) != want {
			t.Errorf("%s %q, want %q", k, hd.Get(k), want)
		}
	}
	if !strings.Contains(hd.Get("Content-Security-Policy"), "sandbox") || hd.Get("ETag") == "" {
		t.Errorf("CSP %q, ETag %q", hd.Get("Content-Security-Policy"), hd.Get("ETag"))
	}
	r := httptest.NewRequest("GET", "http://example.com/_otp/logo", nil)
	r.Header.Set("If-None-Match", hd.Get("ETag"))
	w2 := httptest.NewRecorder()
	h.ServeHTTP(w2, r, nil)
	if w2.Code != http.StatusNotModified || w2.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d with %d bytes, want 304", w2.Code, w2.Body.Len())
	}

	page := v.do("GET", "/_otp/", nil)
	src := `<img src="/_otp/logo?v=` + strings.Trim(hd.Get("ETag"), `"`) + `"`
	if !strings.Contains(page.Body.String(), src) {
		t.Errorf("phone page lacks %s", src)
	}
	wantIn(t, page, 200, "Sign in to example.com")
	if !strings.Contains(page.Body.String(), "<title>Verify your phone · example.com</title>") {
		t.Error("the title does not name the site")
	}
}

// TestSiteName: the pages name the origin when it is set, the request's
// host when it is one of the site's, and nothing for any other Host.
func TestSiteName(t *testing.T) {
	h, _ := newPageHandler(t, logoCfg(t, `,"origin":"app.example.com"`), newClock())
	wantIn(t, newVisitor(t, h, "de").do("GET", "/_otp/", nil), 200, "Anmelden bei app.example.com")

	h2, _ := newPageHandler(t, logoCfg(t, `,"site_hosts":["login.example.net"]`), newClock())
	page := newVisitor(t, h2, "").do("GET", "/_otp/", nil) // Host example.com: not the site's
	if strings.Contains(page.Body.String(), "Sign in to") || strings.Contains(page.Body.String(), `class="site"`) {
		t.Errorf("a Host that is not the site's is named:\n%s", text(page))
	}
	if w := newVisitor(t, h2, "").do("GET", "/_otp/logo", nil); w.Code != 404 {
		t.Errorf("logo without one: %d, want 404", w.Code)
	}
}

func TestLogoURL(t *testing.T) {
	h, _ := newPageHandler(t, logoCfg(t, `,"logo_url":"/static/logo.svg"`), newClock())
	if page := newVisitor(t, h, "").do("GET", "/_otp/", nil); !strings.Contains(page.Body.String(), `<img src="/static/logo.svg"`) {
		t.Error("phone page lacks the logo_url")
	}
	for _, bad := range []string{"https://cdn.example.com/logo.png", "//cdn.example.com/x.png", "logo.png", `/x"onerror="y`, "/a\\b", "/{env.X}", "/a\tb"} {
		if err := checkLogoURL(bad); err == nil {
			t.Errorf("logo_url %q accepted", bad)
		}
	}
}

func TestLogoFileRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pngPath, _ := pngFile(t)
	big := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, maxLogo)...)
	for _, tt := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.png"), "no such file"},
		{"too large", write("big.png", big), "larger than 256 KiB"},
		{"html", write("x.png", []byte("<!doctype html><script>alert(1)</script>")), "not a PNG"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readLogo(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	h := new(Handler)
	json.Unmarshal([]byte(`{"sms":{"provider":"log"},"logo":"`+pngPath+`","logo_url":"/x.png","secret":"`+longSecret+`"}`), h)
	if err := h.Provision(testContext(t)); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("logo and logo_url: %v", err)
	}
	// {env.*} in logo, as in every string option.
	t.Setenv("OTP_TEST_LOGO", pngPath)
	h = new(Handler)
	json.Unmarshal([]byte(`{"sms":{"provider":"log"},"logo":"{env.OTP_TEST_LOGO}","secret":"`+longSecret+`"}`), h)
	if err := h.Provision(testContext(t)); err != nil || h.logo == nil || h.logo.ctype != "image/png" {
		t.Errorf("logo from {env.OTP_TEST_LOGO}: %v", err)
	}
	svg := write("logo.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>`))
	if img, err := readLogo(svg); err != nil || img.ctype != "image/svg+xml" {
		t.Errorf("svg: %v %+v", err, img)
	}
}
