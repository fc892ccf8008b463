package caddyotp

import (
	"bytes"
	"crypto/rand"
	"embed"
	"html/template"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
)

//go:embed pages/*.html
var pageFS embed.FS

// pages holds one template set per page, each the layout plus its content.
var pages = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range []string{"phone", "verify", "logout", "message"} {
		m[name] = template.Must(template.ParseFS(pageFS, "pages/layout.html", "pages/"+name+".html"))
	}
	return m
}()

// pageData is what every page template gets.
type pageData struct {
	Title       string
	Nonce       string // for the inline style and script, per response
	Prefix      string
	CSRF        string
	Return      string
	Phone       string // what the visitor typed, kept on errors
	Placeholder string
	Masked      string // the masked phone a code went to
	CodeLength  int
	Error       string
}

// renderPage writes a page with a strict Content-Security-Policy: nothing
// loads from anywhere, inline style runs only with this response's nonce,
// forms post only to this site, and no one can frame it.
func (h *Handler) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	d.Nonce = rand.Text()
	d.Prefix = h.Prefix
	d.CSRF = csrfToken(h.keys.csrf, h.csrfNonce(w, r))
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		h.logger.Error("render page", zap.String("page", name), zap.Error(err))
		writeRefusalJSON(w, refuse(kindUnavailable), "")
		return
	}
	hd := w.Header()
	noStore(w)
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+d.Nonce+"'; script-src 'nonce-"+d.Nonce+"'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// csrfNonce returns the browser's CSRF cookie nonce, setting one if absent.
func (h *Handler) csrfNonce(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(h.csrfCookie()); err == nil && len(ck.Value) == idLen {
		return ck.Value
	}
	nonce := randomID()
	http.SetCookie(w, &http.Cookie{
		Name: h.csrfCookie(), Value: nonce, Path: h.Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	// Later reads in this request see it too.
	r.AddCookie(&http.Cookie{Name: h.csrfCookie(), Value: nonce})
	return nonce
}

func (h *Handler) placeholder() string {
	if h.region == "" {
		return "+1 201 555 0123"
	}
	return ""
}

func (h *Handler) phonePage(w http.ResponseWriter, r *http.Request) {
	h.renderPage(w, r, http.StatusOK, "phone", pageData{
		Title:       "Verify your phone",
		Return:      safeReturn(r.URL.Query().Get("return")),
		Placeholder: h.placeholder(),
	})
}

func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request) {
	ch, ret, ref := h.challengeFromRequest(r)
	if ref != nil {
		// No code on its way: start at the phone page.
		noStore(w)
		http.Redirect(w, r, h.Prefix+"/", http.StatusSeeOther)
		return
	}
	h.renderPage(w, r, http.StatusOK, "verify", pageData{
		Title:      "Enter your code",
		Masked:     sms.MaskPhone(ch.Phone),
		CodeLength: h.CodeLength,
		// Raw: the template escapes it for the link's query.
		Return: ret,
	})
}

func (h *Handler) logoutPage(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "Sign out"}
	if c, err := h.sessionFromRequest(r); err == nil {
		d.Masked = sms.MaskPhone(c.Subject)
	}
	h.renderPage(w, r, http.StatusOK, "logout", d)
}

// refusalPage answers a form POST that was refused: the page the visitor
// came from, with the reason and what they typed.
func (h *Handler) refusalPage(w http.ResponseWriter, r *http.Request, ref *refusal, in *input) {
	o := outcomeTable[ref.kind]
	if ref.kind == kindRateLimited || ref.kind == kindBlocked {
		w.Header().Set("Retry-After", itoa(seconds(ref.retryAfter)))
	}
	d := pageData{Error: humanMessage(ref)}
	switch {
	case r.URL.Path == h.Prefix+"/send" && in != nil:
		d.Title, d.Phone, d.Return, d.Placeholder = "Verify your phone", in.Phone, safeReturn(in.Return), h.placeholder()
		h.renderPage(w, r, o.status, "phone", d)
	case r.URL.Path == h.Prefix+"/verify" && ref.kind == kindInvalidCode:
		ch, ret, _ := h.challengeFromRequest(r)
		d.Title, d.Masked, d.CodeLength, d.Return = "Enter your code", sms.MaskPhone(ch.Phone), h.CodeLength, ret
		h.renderPage(w, r, o.status, "verify", d)
	default:
		d.Title = "Sign-in problem"
		h.renderPage(w, r, o.status, "message", d)
	}
}
