package caddyotp

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/sms"
)

// pageData is what every page template gets (README: "Your own pages").
// Texts are read with {{.T "key" "name" value ...}} so a page speaks the
// visitor's language.
type pageData struct {
	Page   string // "phone", "verify", "logout" or "message"
	Lang   string // the page's language (BCP 47), for <html lang>
	Title  string
	Nonce  string // for the inline style and script, per response
	Prefix string
	CSRF   string
	Return string // where the visitor goes after verifying
	Error  string // what went wrong, in the page's language; "" if nothing
	Notice string // good news, such as a new code sent; "" if none

	// The phone page.
	Phone       string // what the visitor typed, kept on errors
	Country     string // the selected country (ISO 3166 alpha-2)
	Countries   []countryOption
	Placeholder string // an example number of the selected country

	// The code page, and the blocked and logout messages.
	Masked       string        // the phone, masked: +1******0123
	CodeLength   int           // digits in a code
	ExpiresIn    time.Duration // until the code expires; 0 once it has
	ResendIn     int           // seconds until a new code may be asked for
	AttemptsLeft int           // wrong codes still allowed
	Blocked      bool          // the message page says the phone is blocked
	SignedIn     bool          // the logout page has a session to end

	// users_file (second factor): the phone page shows Masked and has no
	// phone field; the code page offers no other number.
	SecondFactor bool
	Remember     bool // the code page offers "trust this browser"
	Forget       bool // the logout page offers "forget this browser"

	tx texts
}

// T is the text for key in the page's language, with {name} filled from
// name, value pairs. The text and the values are HTML-escaped, except
// values from Strong.
func (d pageData) T(key string, args ...any) template.HTML {
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		v, ok := args[i+1].(template.HTML)
		if !ok {
			v = template.HTML(template.HTMLEscapeString(fmt.Sprint(args[i+1])))
		}
		pairs = append(pairs, fmt.Sprint(args[i]), string(v))
	}
	return template.HTML(fillPlaceholders(template.HTMLEscapeString(d.tx.get(key)), pairs...))
}

// Strong is s, escaped, in <strong>, for T.
func (d pageData) Strong(s string) template.HTML {
	return template.HTML("<strong>" + template.HTMLEscapeString(s) + "</strong>")
}

// Duration says d in the page's language: "5 minutes".
func (d pageData) Duration(dur time.Duration) string { return d.tx.duration(dur) }

// Count is key.one or key.other for n: Count "attempts" 2 is "2 attempts".
func (d pageData) Count(key string, n int) string { return d.tx.count(key, n) }

// newPage starts a page in the visitor's language.
func (h *Handler) newPage(r *http.Request, name, titleKey string) pageData {
	tx, _ := h.ui.cat.negotiate(r)
	return pageData{Page: name, Lang: tx.lang, Title: tx.get(titleKey), Prefix: h.Prefix, tx: tx}
}

// renderPage writes a page with a strict Content-Security-Policy: nothing
// loads from anywhere, inline style and script run only with this
// response's nonce, forms post only to this site, and no one can frame it.
func (h *Handler) renderPage(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	d.Nonce = rand.Text()
	d.CSRF = session.CSRFToken(h.keys.CSRF, h.csrfNonce(w, r))
	var buf bytes.Buffer
	if err := h.ui.pages[d.Page].ExecuteTemplate(&buf, "layout", d); err != nil {
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
func (h *Handler) phoneData(r *http.Request, phone, country, ret string) pageData {
	d := h.newPage(r, "phone", "phone.title")
	_, region := h.ui.cat.negotiate(r)
	d.Phone, d.Return, d.Countries = phone, ret, h.ui.cat.countries[d.Lang]
	if h.users != nil {
		d.SecondFactor, d.Phone = true, ""
		if _, listed, ref := h.userPhone(r); ref == nil {
			d.Masked = sms.MaskPhone(listed)
		}
	}
	for _, c := range []string{country, region, h.region, "US"} {
		if c != "" && hasCountry(d.Countries, c) {
			d.Country, d.Placeholder = c, exampleNumber(c)
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
func (h *Handler) verifyData(r *http.Request, ch challenge, ret string) (pageData, error) {
	st, err := h.flow.status(r.Context(), ch.Phone)
	if err != nil {
		return pageData{}, err
	}
	if st.blockedFor > 0 {
		return h.blockedData(r, ch.Phone, ret, st.blockedFor), nil
	}
	now := h.now()
	d := h.newPage(r, "verify", "verify.title")
	d.Masked, d.CodeLength, d.Return = sms.MaskPhone(ch.Phone), h.CodeLength, ret
	d.SecondFactor, d.Remember = h.users != nil, h.devices != nil
	// To the minute, so a fresh 5-minute code reads "5 minutes", not 4.
	if d.ExpiresIn = max(0, ch.Expires.Sub(now)); d.ExpiresIn >= time.Minute {
		d.ExpiresIn = d.ExpiresIn.Round(time.Minute)
	} else {
		d.ExpiresIn = d.ExpiresIn.Truncate(time.Second)
	}
	sentAt := ch.Expires.Add(-time.Duration(h.CodeTTL))
	d.ResendIn = int(max(0, seconds(sentAt.Add(time.Duration(h.ResendAfter)).Sub(now))))
	d.AttemptsLeft = st.attemptsLeft
	if d.ExpiresIn == 0 {
		d.Error = d.tx.get("verify.expired")
	}
	return d, nil
}

func (h *Handler) blockedData(r *http.Request, phone, ret string, left time.Duration) pageData {
	d := h.newPage(r, "message", "blocked.title")
	d.Blocked, d.Masked, d.Return = true, sms.MaskPhone(phone), ret
	d.Error = d.tx.fill("blocked.body", "phone", d.Masked, "duration", d.tx.duration(left))
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
	} else if r.URL.Query().Get("resent") == "1" && d.Error == "" {
		d.Notice = d.tx.fill("verify.resent", "phone", d.Masked)
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
		d.Error = d.tx.refusal(ref)
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
		d.Error = d.tx.refusal(ref)
		if ref.kind == kindInvalidRequest {
			d.Error = d.tx.fill("code.malformed", "digits", fmt.Sprint(h.CodeLength))
		}
		h.renderPage(w, r, status, d)
		return
	}
	d := h.newPage(r, "message", "message.title")
	d.Error = d.tx.refusal(ref)
	h.renderPage(w, r, status, d)
}

// normalizeCode drops the spaces and dashes a visitor may paste with a
// code ("123 456", "123-456").
func normalizeCode(s string) string {
	return strings.Map(func(c rune) rune {
		if c == ' ' || c == '-' || c == '\t' {
			return -1
		}
		return c
	}, s)
}
