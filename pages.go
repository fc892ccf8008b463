package caddyotp

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/internal/ui"
	"github.com/caddyotp/caddyotp/sms"
)

// newPage starts a page in the visitor's language.
func (h *Handler) newPage(r *http.Request, name, titleKey string) ui.Page {
	tx, _ := h.ui.Catalog().Negotiate(r.Header.Get("Accept-Language"))
	d := ui.NewPage(tx, name, titleKey)
	d.Prefix = h.Prefix
	// The site's name as an SMS would carry it: never a Host nobody
	// configured.
	d.Site, _ = h.smsHost(r)
	d.Logo = h.logoSrc()
	return d
}

// renderPage writes a page with a strict Content-Security-Policy: nothing
// loads from anywhere, inline style and script run only with this
// response's nonce, forms post only to this site, and no one can frame it.
func (h *Handler) renderPage(w http.ResponseWriter, r *http.Request, status int, d ui.Page) {
	d.Nonce = rand.Text()
	d.CSRF = session.CSRFToken(h.keys.CSRF, h.csrfNonce(w, r))
	var buf bytes.Buffer
	if err := h.ui.Render(&buf, d); err != nil {
		h.logger.Error("render page", zap.String("page", d.Page), zap.Error(err))
		writeRefusalJSON(w, refuse(kindUnavailable), "")
		return
	}
	hd := w.Header()
	noStore(w)
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Language", d.Lang)
	hd.Add("Vary", "Accept-Language")
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
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.isHTTPS(r),
	})
	// Later reads in this request see it too.
	r.AddCookie(&http.Cookie{Name: h.csrfCookie(), Value: nonce})
	return nonce
}

// phoneData is the phone page. country is the visitor's pick, if any;
// else the country their language points to, if offered; else the first
// of `countries`; else US.
func (h *Handler) phoneData(r *http.Request, phone, country, ret string) ui.Page {
	d := h.newPage(r, "phone", "phone.title")
	_, region := h.ui.Catalog().Negotiate(r.Header.Get("Accept-Language"))
	d.Phone, d.Return, d.Countries = phone, ret, h.ui.Catalog().Countries(d.Lang)
	if h.users != nil {
		d.SecondFactor, d.Phone = true, ""
		if _, listed, ref := h.userPhone(r); ref == nil {
			d.Masked = sms.MaskPhone(listed)
		}
	}
	for _, c := range []string{country, region, h.region, "US"} {
		if c != "" && ui.HasCountry(d.Countries, c) {
			d.Country, d.Placeholder = c, ui.ExampleNumber(c)
			break
		}
	}
	return d
}

func (h *Handler) phonePage(w http.ResponseWriter, r *http.Request) {
	if h.users != nil {
		if _, _, ref := h.userPhone(r); ref != nil {
			h.refusalPage(w, r, ref, nil)
			return
		}
	}
	h.renderPage(w, r, http.StatusOK, h.phoneData(r, "", "", safeReturn(r.URL.Query().Get("return"))))
}

// verifyData is the code page for ch: how long the code has left, how
// many tries, and when a new one may be sent. A blocked phone gets the
// blocked message instead.
func (h *Handler) verifyData(r *http.Request, ch challenge, ret string) (ui.Page, error) {
	st, err := h.flow.Status(r.Context(), ch.Phone)
	if err != nil {
		return ui.Page{}, err
	}
	if st.BlockedFor > 0 {
		return h.blockedData(r, ch.Phone, ret, st.BlockedFor), nil
	}
	now := h.now()
	d := h.newPage(r, "verify", "verify.title")
	d.Masked, d.CodeLength, d.Return = sms.MaskPhone(ch.Phone), h.CodeLength, ret
	d.SecondFactor, d.Remember, d.CanCall = h.users != nil, h.devices != nil, h.canCall
	// To the minute, so a fresh 5-minute code reads "5 minutes", not 4.
	if d.ExpiresIn = max(0, ch.Expires.Sub(now)); d.ExpiresIn >= time.Minute {
		d.ExpiresIn = d.ExpiresIn.Round(time.Minute)
	} else {
		d.ExpiresIn = d.ExpiresIn.Truncate(time.Second)
	}
	sentAt := ch.Expires.Add(-time.Duration(h.CodeTTL))
	d.ResendIn = int(max(0, seconds(sentAt.Add(time.Duration(h.ResendAfter)).Sub(now))))
	d.AttemptsLeft = st.AttemptsLeft
	if d.ExpiresIn == 0 {
		d.Error = d.Texts().Get("verify.expired")
	}
	return d, nil
}

func (h *Handler) blockedData(r *http.Request, phone, ret string, left time.Duration) ui.Page {
	d := h.newPage(r, "message", "blocked.title")
	d.Blocked, d.Masked, d.Return = true, sms.MaskPhone(phone), ret
	tx := d.Texts()
	d.Error = tx.Fill("blocked.body", "phone", d.Isolate(d.Masked), "duration", tx.Duration(left))
	return d
}

func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request) {
	ch, ret, ref := h.pendingChallenge(r)
	if ref != nil {
		// No code on its way: start at the phone page.
		noStore(w)
		http.Redirect(w, r, h.Prefix+"/", http.StatusSeeOther)
		return
	}
	d, err := h.verifyData(r, ch, ret)
	if err != nil {
		h.refusalPage(w, r, unavailable("status", err), nil)
		return
	}
	status := http.StatusOK
	if d.Blocked {
		status = outcomeTable[kindBlocked].status
	} else if q := r.URL.Query(); d.Error == "" && q.Get("called") == "1" {
		d.Notice = d.Texts().Fill("verify.calling", "phone", d.Isolate(d.Masked))
	} else if d.Error == "" && q.Get("resent") == "1" {
		d.Notice = d.Texts().Fill("verify.resent", "phone", d.Isolate(d.Masked))
	}
	h.renderPage(w, r, status, d)
}

func (h *Handler) logoutPage(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(r, "logout", "logout.title")
	if c, err := h.sessionFromRequest(r); err == nil {
		d.SignedIn, d.Masked = true, sms.MaskPhone(c.Subject)
	}
	if _, err := r.Cookie(h.deviceCookie()); err == nil && h.devices != nil {
		d.Forget = true
	}
	h.renderPage(w, r, http.StatusOK, d)
}

// refusalPage answers a form POST that was refused: the page the visitor
// came from, with the reason and what they typed; the blocked message for
// a blocked phone; a message page when there is nothing to go back to.
func (h *Handler) refusalPage(w http.ResponseWriter, r *http.Request, ref *refusal, in *input) {
	status := outcomeTable[ref.kind].status
	if ref.kind == kindRateLimited || ref.kind == kindBlocked {
		w.Header().Set("Retry-After", itoa(seconds(ref.retryAfter)))
	}
	switch rest := strings.TrimPrefix(r.URL.Path, h.Prefix); {
	case rest == "/send" && in != nil && ref.kind != kindUnknownUser:
		d := h.phoneData(r, in.Phone, in.Country, safeReturn(in.Return))
		d.Error = refusalText(d.Texts(), ref)
		h.renderPage(w, r, status, d)
		return
	case rest == "/verify" || rest == "/resend":
		ch, ret, cref := h.pendingChallenge(r)
		if cref != nil || ref.kind == kindUnavailable {
			break
		}
		if ref.kind == kindBlocked {
			h.renderPage(w, r, status, h.blockedData(r, ch.Phone, ret, ref.retryAfter))
			return
		}
		d, err := h.verifyData(r, ch, ret)
		if err != nil {
			break
		}
		if d.Blocked {
			h.renderPage(w, r, outcomeTable[kindBlocked].status, d)
			return
		}
		if ref.kind == kindInvalidCode {
			d.AttemptsLeft = ref.attemptsLeft
		}
		d.Error = refusalText(d.Texts(), ref)
		if ref.kind == kindInvalidRequest {
			d.Error = d.Texts().Fill("code.malformed", "digits", fmt.Sprint(h.CodeLength))
		}
		h.renderPage(w, r, status, d)
		return
	}
	d := h.newPage(r, "message", "message.title")
	d.Error = refusalText(d.Texts(), ref)
	h.renderPage(w, r, status, d)
}

// refusalText is the sentence a visitor reads for ref, in tx's language.
func refusalText(tx ui.Texts, ref *refusal) string {
	return tx.Refusal(outcomeTable[ref.kind].code, ref.retryAfter, ref.attemptsLeft)
}
