package caddyotp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// maxLogo caps the logo file: a logo is a few KiB, and every instance
// keeps it in memory.
const maxLogo = 256 << 10

// logoImage is the logo file, read once per Provision.
type logoImage struct {
	data  []byte
	ctype string
	etag  string // quoted, from the content
}

// provisionLogo reads logo, if set, and checks logo_url.
func (h *Handler) provisionLogo() error {
	if h.Logo != "" {
		repl := caddy.NewReplacer()
		if h.Logo = repl.ReplaceKnown(h.Logo, ""); h.Logo == "" {
			return errors.New("logo: resolves to an empty value")
		}
	}
	if h.Logo != "" && h.LogoURL != "" {
		return errors.New("logo and logo_url: set one of them, not both")
	}
	if h.LogoURL != "" {
		if err := checkLogoURL(h.LogoURL); err != nil {
			return fmt.Errorf("logo_url: %w", err)
		}
	}
	if h.Logo == "" {
		return nil
	}
	img, err := readLogo(h.Logo)
	if err != nil {
		return fmt.Errorf("logo: %w", err)
	}
	h.logo = img
	return nil
}

func readLogo(path string) (*logoImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLogo+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxLogo {
		return nil, fmt.Errorf("%s: larger than %d KiB", path, maxLogo>>10)
	}
	ctype := logoType(data)
	if ctype == "" {
		return nil, fmt.Errorf("%s: not a PNG, JPEG, GIF, WebP or SVG image", path)
	}
	sum := sha256.Sum256(data)
	return &logoImage{data: data, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}, nil
}

// logoType is the image type of data, by its content (never by the file
// name), or "" if it is not one the pages show.
func logoType(data []byte) string {
	switch ct := http.DetectContentType(data); ct {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return ct
	case "text/xml; charset=utf-8", "text/plain; charset=utf-8":
		head := data[:min(len(data), 1024)]
		if bytes.Contains(head, []byte("<svg")) {
			return "image/svg+xml"
		}
	}
	return ""
}

// checkLogoURL accepts a path on this site: it starts with one '/', and
// has no scheme, host, backslash or control character, so that the CSP's
// img-src 'self' allows it and it cannot name another site.
func checkLogoURL(s string) error {
	if hasPlaceholder(s) {
		return errors.New("takes no placeholders")
	}
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\"'<> ") {
		return fmt.Errorf("%q is not a path on this site, such as /static/logo.svg", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q holds a control character", s)
		}
	}
	if u, err := url.Parse(s); err != nil || u.Scheme != "" || u.Host != "" {
		return fmt.Errorf("%q is not a path on this site", s)
	}
	return nil
}

// logoSrc is the logo's address for the pages, "" without one: the file
// phone_otp serves, versioned by its content so a new logo shows at once.
func (h *Handler) logoSrc() string {
	if h.logo != nil {
		return h.Prefix + "/logo?v=" + strings.Trim(h.logo.etag, `"`)
	}
	return h.LogoURL
}

// serveLogo answers GET {prefix}/logo. An SVG is sent with a CSP that
// runs no script in it, should anyone open it as a page.
func (h *Handler) serveLogo(w http.ResponseWriter, r *http.Request) {
	if h.logo == nil {
		h.refuse(w, r, false, refuse(kindNotFound))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", h.logo.ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	hd.Set("Cache-Control", "public, max-age=86400")
	hd.Set("ETag", h.logo.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, h.logo.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", itoa(int64(len(h.logo.data))))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(h.logo.data)
	}
}
