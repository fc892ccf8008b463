package caddyotp

import (
	"net/http"
	"strings"
)

// serveOwn serves the pages and API under the prefix. rest is the path
// after the prefix.
func (h *Handler) serveOwn(w http.ResponseWriter, r *http.Request, rest string) {
	type route struct {
		get  func(http.ResponseWriter, *http.Request)
		post func(http.ResponseWriter, *http.Request, *input)
	}
	var rt route
	switch rest {
	case "", "/":
		rt = route{get: h.phonePage}
	case "/send":
		rt = route{post: h.send}
	case "/verify":
		rt = route{get: h.verifyPage, post: h.verify}
	case "/resend":
		rt = route{post: h.resend}
	case "/session":
		rt = route{get: h.session}
	case "/logout":
		rt = route{get: h.logoutPage, post: h.logout}
	case "/auth":
		// Forward auth: a proxy asks with the method of the request it
		// holds, so every method gets the same answer.
		h.forwardAuth(w, r)
		return
	case "/logo":
		rt = route{get: h.serveLogo}
	default:
		h.refuse(w, r, false, refuse(kindNotFound))
		return
	}
	switch {
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && rt.get != nil:
		rt.get(w, r)
	case r.Method == http.MethodPost && rt.post != nil:
		if rest == "/send" {
			// A client this instance just refused for its address is
			// refused again before its body is read: a flood from one
			// address costs a map lookup a request (flow/refused.go).
			if ref, refused := h.flow.IPRefused(clientIP(r)); refused {
				h.audit.ipRefusedAgain()
				h.refuse(w, r, isForm(r), fromFlow(&ref))
				return
			}
		}
		in, ref := h.readInput(w, r)
		if ref != nil {
			h.refuse(w, r, in != nil && in.form, ref)
			return
		}
		rt.post(w, r, in)
	default:
		allow := []string{}
		if rt.get != nil {
			allow = append(allow, "GET", "HEAD")
		}
		if rt.post != nil {
			allow = append(allow, "POST")
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.refuse(w, r, false, refuse(kindMethodNotAllowed))
	}
}

// ownPath reports whether path is under the prefix, and the rest of it.
func (h *Handler) ownPath(path string) (string, bool) {
	if !strings.HasPrefix(path, h.Prefix) {
		return "", false
	}
	rest := path[len(h.Prefix):]
	if rest != "" && rest[0] != '/' {
		return "", false // e.g. /_otpfoo is the site's, not ours
	}
	return rest, true
}
