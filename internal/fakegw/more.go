package fakegw

import "net/http"

// serveMore hands r to the fake of the provider whose path (and, for
// SNS, signature) it has, and reports whether one took it.
func (f *Gateways) serveMore(w http.ResponseWriter, r *http.Request, mode string) bool {
	switch {
	case r.URL.Path == "/" && r.Header.Get("X-Amz-Date") != "":
		f.sns(w, r, mode)
	case r.URL.Path == "/v2/messages":
		f.telnyx(w, r, mode)
	case plivoPath.MatchString(r.URL.Path):
		f.plivo(w, r, mode)
	case sinchPath.MatchString(r.URL.Path):
		f.sinch(w, r, mode)
	case r.URL.Path == "/sms/3/messages":
		f.infobip(w, r, mode)
	case birdPath.MatchString(r.URL.Path):
		f.bird(w, r, mode)
	case r.URL.Path == "/messages":
		f.birdLegacy(w, r, mode)
	default:
		return false
	}
	return true
}
