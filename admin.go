package caddyotp

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyotp/caddyotp/internal/flow"
	phonenum "github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/store"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI serves /phone_otp/ on Caddy's admin endpoint, for incidents:
// list blocked phones, unblock one, revoke every session of a phone, and
// show what is left of the global SMS budget. It acts on the handlers that
// are running (see live), by issuer.
//
// Phones travel in JSON bodies, never in the URL: Caddy logs every admin
// request's URI at INFO, and a whole phone number must not reach a log.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.phone_otp",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the /phone_otp/ routes.
func (a adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/phone_otp/", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

// adminRequest is the body of the POST endpoints.
type adminRequest struct {
	Issuer string `json:"issuer"`
	Phone  string `json:"phone,omitempty"`
	Scope  string `json:"scope,omitempty"` // lift: prefix or country
	Key    string `json:"key,omitempty"`   // lift: the prefix or country
}

func (a adminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	type route struct {
		method string
		serve  func(http.ResponseWriter, *http.Request, []*Handler, adminRequest) error
		check  func(*adminRequest) error // a POST body's
	}
	routes := map[string]route{
		"/phone_otp/blocked": {http.MethodGet, a.blocked, nil},
		"/phone_otp/budget":  {http.MethodGet, a.budget, nil},
		"/phone_otp/pauses":  {http.MethodGet, a.pauses, nil},
		"/phone_otp/unblock": {http.MethodPost, a.unblock, checkAdminPhone},
		"/phone_otp/revoke":  {http.MethodPost, a.revoke, checkAdminPhone},
		"/phone_otp/lift":    {http.MethodPost, a.lift, checkAdminPause},
	}
	if r.URL.Path == "/phone_otp/" {
		if r.Method != http.MethodGet {
			return apiError(http.StatusMethodNotAllowed, "use GET")
		}
		return a.issuers(w)
	}
	rt, ok := routes[r.URL.Path]
	if !ok {
		return apiError(http.StatusNotFound, "no such phone_otp admin endpoint; see /phone_otp/blocked, /budget, /pauses, /unblock, /revoke, /lift")
	}
	if r.Method != rt.method {
		w.Header().Set("Allow", rt.method)
		return apiError(http.StatusMethodNotAllowed, "use "+rt.method)
	}
	req := adminRequest{Issuer: r.URL.Query().Get("issuer")}
	if rt.method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return apiError(http.StatusBadRequest, "cannot read the request body")
		}
		issuer := req.Issuer
		req = adminRequest{}
		// One JSON object and nothing after it, as the public API
		// takes (decodeJSON): trailing data is refused, not ignored.
		if err := decodeJSON(body, &req, true); err != nil {
			return apiError(http.StatusBadRequest, `the body must be JSON: {"phone":"<E.164>","issuer":"<issuer>"}, or for lift {"scope":"prefix|country","key":"…"}`)
		}
		req.Issuer = cmp.Or(req.Issuer, issuer)
		if err := rt.check(&req); err != nil {
			return err
		}
	}
	hs, err := handlersOf(req.Issuer)
	if err != nil {
		return err
	}
	return rt.serve(w, r, hs, req)
}

// checkAdminPhone accepts a body's phone in E.164 form. The error does not
// repeat the input: Caddy logs admin errors.
func checkAdminPhone(req *adminRequest) error {
	phone, err := phonenum.ParseE164(req.Phone)
	if err != nil || req.Scope != "" || req.Key != "" {
		return apiError(http.StatusBadRequest, "phone must be a valid number in E.164 form: + and the country code, no spaces")
	}
	req.Phone = phone
	return nil
}

// handlersOf returns the live handlers of issuer, or of the only live
// issuer when issuer is empty.
func handlersOf(issuer string) ([]*Handler, error) {
	if issuer == "" {
		all := live.issuers()
		switch len(all) {
		case 0:
			return nil, apiError(http.StatusNotFound, "no phone_otp handler is running")
		case 1:
			issuer = all[0]
		default:
			return nil, apiError(http.StatusBadRequest, fmt.Sprintf("several phone_otp issuers are running (%s): name one with issuer", strings.Join(all, ", ")))
		}
	}
	hs := live.get(issuer)
	if len(hs) == 0 {
		return nil, apiError(http.StatusNotFound, fmt.Sprintf("no phone_otp handler with issuer %q is running", issuer))
	}
	return hs, nil
}

// domainInfo names a protection domain in the admin API's answers.
type domainInfo struct {
	Domain string `json:"domain"`
	Site   string `json:"site,omitempty"`
	Realm  string `json:"realm,omitempty"`
}

// byDomain groups hs (oldest first) by protection domain, in the order
// each domain first appears; each group's last handler is its newest,
// whose options (limit_global) are in force during a reload.
func byDomain(hs []*Handler) [][]*Handler {
	var out [][]*Handler
	at := map[string]int{}
	for _, h := range hs {
		ns := h.flow.NS
		i, ok := at[ns]
		if !ok {
			i = len(out)
			at[ns] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], h)
	}
	return out
}

func (h *Handler) domainInfo() domainInfo {
	return domainInfo{Domain: h.flow.NS, Site: h.Site, Realm: h.Realm}
}

// issuers lists the running issuers, each with its protection domains.
func (adminAPI) issuers(w http.ResponseWriter) error {
	type info struct {
		Issuer      string       `json:"issuer"`
		Handlers    int          `json:"handlers"`
		Store       string       `json:"store"`
		CanList     bool         `json:"can_list_blocked"`
		CanBudget   bool         `json:"can_read_budget"`
		LimitGlobal int          `json:"limit_global"`
		Domains     []domainInfo `json:"domains"`
	}
	out := []info{}
	for _, iss := range live.issuers() {
		hs := live.get(iss)
		if len(hs) == 0 {
			continue
		}
		h := hs[len(hs)-1]
		_, canList := h.store.(store.Lister)
		_, canBudget := h.store.(store.WindowReader)
		in := info{Issuer: iss, Handlers: len(hs), Store: caddy.GetModuleName(h.store),
			CanList: canList, CanBudget: canBudget, LimitGlobal: h.LimitGlobal}
		for _, g := range byDomain(hs) {
			in.Domains = append(in.Domains, g[len(g)-1].domainInfo())
		}
		out = append(out, in)
	}
	writeJSON(w, http.StatusOK, map[string]any{"issuers": out})
	return nil
}

// blocked lists the blocked phones of every handler of the issuer, with
// the seconds each stays blocked.
func (adminAPI) blocked(w http.ResponseWriter, r *http.Request, hs []*Handler, _ adminRequest) error {
	left := map[string]time.Duration{}
	for _, h := range hs {
		phones, err := h.flow.BlockedPhones(r.Context())
		if err != nil {
			return adminStoreError(h, err, flow.ErrCannotList, "list keys")
		}
		for p, d := range phones {
			left[p] = max(left[p], d)
		}
	}
	type entry struct {
		Phone      string `json:"phone"`
		RetryAfter int64  `json:"retry_after"`
	}
	out := []entry{}
	for p, d := range left {
		out = append(out, entry{p, seconds(d)})
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.Phone, b.Phone) })
	writeJSON(w, http.StatusOK, map[string]any{"issuer": hs[0].Issuer, "blocked": out})
	return nil
}

// unblock lifts the block on a phone, with its wrong-code count and
// resend wait, so that it can get a code straight away. The hourly
// limit_phone window stays: it is the guard against SMS pumping.
func (adminAPI) unblock(w http.ResponseWriter, r *http.Request, hs []*Handler, req adminRequest) error {
	phone := req.Phone
	was := false
	for _, h := range hs {
		b, err := h.flow.Unblock(r.Context(), phone)
		if err != nil {
			hs[len(hs)-1].audit.admin("unblock", phone, remoteIP(r), "unavailable", err)
			return storeAPIError(err)
		}
		was = was || b
	}
	outcome := "unblocked"
	if !was {
		outcome = "not_blocked"
	}
	hs[len(hs)-1].audit.admin("unblock", phone, remoteIP(r), outcome, nil)
	writeJSON(w, http.StatusOK, map[string]any{"issuer": hs[0].Issuer, "phone": phone, "was_blocked": was})
	return nil
}

// revoke ends every session and remembered device of a phone issued
// until now. Tokens are stateless, so that is what the answer can say:
// not how many there were, but until when they were issued.
func (adminAPI) revoke(w http.ResponseWriter, r *http.Request, hs []*Handler, req adminRequest) error {
	phone := req.Phone
	var ttl time.Duration
	for _, h := range hs {
		ttl = max(ttl, time.Duration(h.SessionTTL), time.Duration(h.RememberDevice))
	}
	until := hs[0].now().Truncate(time.Second)
	for _, h := range hs {
		if err := h.sessions.RevokePhone(r.Context(), phone, ttl); err != nil {
			hs[len(hs)-1].audit.admin("revoke", phone, remoteIP(r), "unavailable", err)
			return storeAPIError(err)
		}
	}
	hs[len(hs)-1].audit.admin("revoke", phone, remoteIP(r), "revoked", nil)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": hs[0].Issuer, "phone": phone, "status": "revoked",
		"issued_until": until.Unix(),
		"ended":        "every session and remembered device of the phone issued until " + until.UTC().Format(time.RFC3339),
	})
	return nil
}

// budget shows the global SMS budget of each protection domain of the
// issuer (each has its own limit_global window), as its newest handler
// counts it: codes sent in the current hour and how many are left. With
// one domain, its figures are also at the top level, as before domains
// had windows of their own; with several there is no one figure to give.
func (adminAPI) budget(w http.ResponseWriter, r *http.Request, hs []*Handler, _ adminRequest) error {
	type entry struct {
		domainInfo
		Limit     int   `json:"limit"`
		Used      int64 `json:"used"`
		Remaining int64 `json:"remaining"`
		ResetsIn  int64 `json:"resets_in"`
	}
	out := []entry{}
	for _, g := range byDomain(hs) {
		h := g[len(g)-1]
		used, resets, err := h.flow.GlobalUsed(r.Context())
		if err != nil {
			return adminStoreError(h, err, flow.ErrCannotReadWindow, "read limit windows")
		}
		out = append(out, entry{domainInfo: h.domainInfo(), Limit: h.LimitGlobal, Used: used,
			Remaining: max(0, int64(h.LimitGlobal)-used), ResetsIn: seconds(resets)})
	}
	body := map[string]any{"issuer": hs[0].Issuer, "domains": out}
	if len(out) == 1 {
		e := out[0]
		body["limit"], body["used"], body["remaining"], body["resets_in"] = e.Limit, e.Used, e.Remaining, e.ResetsIn
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func apiError(status int, msg string) error {
	return caddy.APIError{HTTPStatus: status, Err: errors.New(msg), Message: msg}
}

// adminStoreError is the answer to err from h's store: 501 if it is
// cannot (the store cannot do what, e.g. "list keys"), else the store's
// failure.
func adminStoreError(h *Handler, err, cannot error, what string) error {
	if errors.Is(err, cannot) {
		return apiError(http.StatusNotImplemented, fmt.Sprintf("store %s cannot %s", caddy.GetModuleName(h.store), what))
	}
	return storeAPIError(err)
}

func storeAPIError(err error) error {
	return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: fmt.Errorf("store: %w", err), Message: "the store cannot answer"}
}

func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Interface guards
var (
	_ caddy.Module      = (*adminAPI)(nil)
	_ caddy.AdminRouter = (*adminAPI)(nil)
)
