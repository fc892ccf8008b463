package caddyotp

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyotp/caddyotp/internal/flow"
)

// The admin API's view of the SMS-pumping breakers (pumping.go): list the
// pauses in force, and lift one.

// checkAdminPause accepts a lift body: a scope and its prefix or country.
func checkAdminPause(req *adminRequest) error {
	if req.Phone != "" {
		return apiError(http.StatusBadRequest, `lift takes {"scope":"prefix|country","key":"…"}, not a phone`)
	}
	if err := flow.CheckPauseKey(req.Scope, req.Key); err != nil {
		return apiError(http.StatusBadRequest, "scope and key: "+err.Error())
	}
	return nil
}

// pauseEntry is one pause in the admin API's answers.
type pauseEntry struct {
	domainInfo
	Scope      string `json:"scope"`
	Key        string `json:"key"`
	RetryAfter int64  `json:"retry_after"`
	Sends      int64  `json:"sends"`
	Verified   int64  `json:"verified"`
	Expired    int64  `json:"expired"`
	Networks   int64  `json:"networks"`
}

// pauses lists the pauses of each protection domain of the issuer, with
// the window's figures that tripped each and the seconds it has left.
func (adminAPI) pauses(w http.ResponseWriter, r *http.Request, hs []*Handler, _ adminRequest) error {
	out := []pauseEntry{}
	for _, g := range byDomain(hs) {
		h := g[len(g)-1]
		ps, err := h.flow.Pauses(r.Context())
		if err != nil {
			return adminStoreError(h, err, flow.ErrCannotList, "list keys")
		}
		now := h.pumpingNow()
		for _, p := range ps {
			out = append(out, pauseEntry{domainInfo: h.domainInfo(), Scope: p.Scope, Key: p.Key,
				RetryAfter: seconds(max(p.Until.Sub(now), time.Second)), Sends: p.Sends, Verified: p.Verified,
				Expired: p.Expired, Networks: p.Networks})
		}
	}
	slices.SortFunc(out, func(a, b pauseEntry) int {
		return strings.Compare(a.Domain+a.Scope+a.Key, b.Domain+b.Scope+b.Key)
	})
	writeJSON(w, http.StatusOK, map[string]any{"issuer": hs[0].Issuer, "pauses": out})
	return nil
}

// lift ends a pause in every protection domain of the issuer, and clears
// the breaker's window there, so that it judges afresh.
func (adminAPI) lift(w http.ResponseWriter, r *http.Request, hs []*Handler, req adminRequest) error {
	audit := hs[len(hs)-1].audit
	was := false
	for _, g := range byDomain(hs) {
		on, err := g[len(g)-1].flow.Lift(r.Context(), req.Scope, req.Key)
		if err != nil {
			audit.lift(req.Scope, req.Key, remoteIP(r), "unavailable", err)
			return storeAPIError(err)
		}
		was = was || on
	}
	outcome := "lifted"
	if !was {
		outcome = "not_paused"
	}
	audit.lift(req.Scope, req.Key, remoteIP(r), outcome, nil)
	writeJSON(w, http.StatusOK, map[string]any{"issuer": hs[0].Issuer, "scope": req.Scope, "key": req.Key, "was_paused": was})
	return nil
}

// pumpingNow is the breakers' clock.
func (h *Handler) pumpingNow() time.Time {
	if h.pumpingClock == nil {
		return h.now()
	}
	if now := h.pumpingClock.Load(); now != nil {
		return (*now)()
	}
	return h.now()
}
