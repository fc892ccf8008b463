package caddyotp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The fuzz targets of what a request carries to the root's own parsing:
// the return target, the same-origin headers, the JSON body, and the
// Cookie lines the handler strips of its own cookies before a request
// goes upstream. The handler as a whole is fuzzed in
// handler_fuzz_test.go.

// returnSeeds are TestSafeReturn's and TestForwardLogin's targets.
var returnSeeds = []string{
	"/a?b=c", "/", "/app/page#top", "/a/b/../c", "/%2F%2Fevil.example", "//evil.example",
	"//evil.example/path", "/\\evil.example", "/a\\b", "https://evil.example", "http:/evil.example",
	"javascript:alert(1)", "data:text/html,x", "", "relative", "?q=1", "#frag", " /leading-space",
	"/a\r\nSet-Cookie: x=1", "/\t/evil.example", "/a\x00b", "/a\x7fb", "/app/deep?x=1",
	"http://app.example/app/deep?x=1", "https://app.example:8443/x", "http://app.example@evil.com/",
	"http://evil.com@app.example/", "/@evil.example", "/.//evil.example", "/%09/evil.example",
	"/?return=//evil.example", "/a#//evil.example", "/:x", "/x:y",
}

// checkSamePath holds what a return target must be wherever it is used (a
// Location, a form's hidden field, the JSON "return"): "/" or a path that
// starts with one '/', holds no control character or backslash, reads
// again as itself, and, resolved against any page of the site as a
// browser would, stays on the site.
func checkSamePath(t *testing.T, from, ret string) {
	t.Helper()
	if ret == "" || ret[0] != '/' || (len(ret) > 1 && (ret[1] == '/' || ret[1] == '\\')) {
		t.Fatalf("%q: return %q is not a same-site path", from, ret)
	}
	if len(ret) > maxReturn {
		t.Fatalf("%q: return of %d bytes", from, len(ret))
	}
	for i := 0; i < len(ret); i++ {
		if c := ret[i]; c < 0x20 || c == 0x7f || c == '\\' {
			t.Fatalf("%q: return %q holds %q", from, ret, c)
		}
	}
	if again := safeReturn(ret); again != ret {
		t.Fatalf("%q: return %q reads again as %q", from, ret, again)
	}
	u, err := url.Parse(ret)
	if err != nil {
		t.Fatalf("%q: return %q does not parse: %v", from, ret, err)
	}
	for _, page := range []string{"https://example.com/_otp/verify", "http://example.com:8080/", "https://example.com/a/b/c?d#e"} {
		base, _ := url.Parse(page)
		if got := base.ResolveReference(u); got.Scheme != base.Scheme || got.Host != base.Host || got.User != nil {
			t.Fatalf("%q: return %q leads from %s to %s", from, ret, page, got)
		}
	}
}

// FuzzSafeReturn: the `return` of the login page, the send form and the
// JSON send. safeReturn gives back its input or "/", and what it gives
// back is a same-site path (checkSamePath).
func FuzzSafeReturn(f *testing.F) {
	for _, s := range returnSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ret := safeReturn(s)
		if ret != s && ret != "/" {
			t.Fatalf("safeReturn(%q) = %q: neither its input nor /", s, ret)
		}
		checkSamePath(t, s, ret)
	})
}

// FuzzReturnFromURL: the `rd` of {prefix}/auth, as a path or as a URL
// on the request's scheme and host. What comes out is a same-site path;
// and a URL on another host or scheme, or with user info, gives "/".
func FuzzReturnFromURL(f *testing.F) {
	for _, s := range returnSeeds {
		f.Add(s, "http", "app.example")
		f.Add(s, "https", "app.example:8443")
	}
	f.Fuzz(func(t *testing.T, rd, scheme, host string) {
		ret := returnFromURL(rd, scheme, host)
		checkSamePath(t, rd, ret)
		if strings.HasPrefix(rd, "/") || ret == "/" {
			return
		}
		u, err := url.Parse(rd)
		if err != nil || u.User != nil || !strings.EqualFold(u.Scheme, scheme) || !strings.EqualFold(u.Host, host) {
			t.Fatalf("returnFromURL(%q, %q, %q) = %q, from another origin", rd, scheme, host, ret)
		}
	})
}

// FuzzSameOrigin: the Origin, Referer and Sec-Fetch-Site of a POST. A
// request is taken as same-origin only if Sec-Fetch-Site, when sent, says
// so, and the Origin (unless absent or "null"), or else the Referer, names
// exactly the scheme and host the request came to: never one that only
// starts with it (http://example.com.evil.example, http://example.com:8080).
func FuzzSameOrigin(f *testing.F) {
	for _, c := range [][3]string{
		{"", "", ""}, {"http://example.com", "", ""}, {"https://evil.example", "", ""},
		{"null", "", "same-origin"}, {"null", "", "cross-site"}, {"", "", "same-site"},
		{"http://example.com", "", "cross-site"}, {"", "http://example.com/_otp/", ""},
		{"", "https://evil.example/x", ""}, {"http://example.com.evil.example", "", ""},
		{"http://example.com:8080", "", ""}, {"HTTP://EXAMPLE.COM", "", ""},
		{"", "http://example.com.evil.example/", ""}, {"", "http://user@example.com/", ""},
		{"", "//example.com/x", ""}, {"http://example.com/", "", ""},
	} {
		f.Add(c[0], c[1], c[2], "example.com")
	}
	h := &Handler{}
	f.Fuzz(func(t *testing.T, origin, referer, site, host string) {
		r := httptest.NewRequest("POST", "http://example.com/_otp/send", nil)
		r.Host = host
		for k, v := range map[string]string{"Origin": origin, "Referer": referer, "Sec-Fetch-Site": site} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		if !h.sameOrigin(r) {
			return
		}
		if site != "" && site != "same-origin" {
			t.Fatalf("Sec-Fetch-Site %q passes", site)
		}
		want := "http://" + host
		switch {
		case origin != "" && origin != "null":
			if !strings.EqualFold(origin, want) {
				t.Fatalf("Origin %q passes for %s", origin, want)
			}
		case referer != "":
			u, err := url.Parse(referer)
			if err != nil || !strings.EqualFold(u.Scheme+"://"+u.Host, want) {
				t.Fatalf("Referer %q passes for %s", referer, want)
			}
		}
	})
}

// FuzzDecodeJSON: the JSON body of every endpoint, into the one input
// struct. decodeJSON accepts exactly one JSON value that encoding/json
// also reads, into the same input (so no parser on the way could read the
// body differently); strict decoding accepts no more than the lenient
// one; and the input it reads, encoded again, decodes the same.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"phone":"+12015550123"}`, `{"phone":"+1 201 555 0123","country":"US","return":"/app"}`,
		`{"code":"123456","remember":true}`, `{"forget":true}`, `{}`, `{"phone":"+1"}{"phone":"+2"}`,
		`{"phone":"+12015550123"}]`, `{"phone":"+12015550123"} x`, `{"phone":"a","Phone":"b"}`,
		`{"phone":"a","phone":"b"}`, `{"remember":"yes"}`, `{"code":123456}`, `null`, `[]`, `"x"`,
		`{"channel":"call","extra":1}`, "{\"phone\":\"\\ud800\"}", "{\"phone\":\"\xff\"}", ` {} `, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in input
		if err := decodeJSON(body, &in, false); err != nil {
			var strict input
			if decodeJSON(body, &strict, true) == nil {
				t.Fatalf("%q: strict decoding accepts what lenient refuses (%v)", body, err)
			}
			return
		}
		var std input
		if err := json.Unmarshal(body, &std); err != nil || !reflect.DeepEqual(std, in) {
			t.Fatalf("%q: decodeJSON reads %+v; encoding/json %+v, %v", body, in, std, err)
		}
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var back input
		if err := decodeJSON(again, &back, true); err != nil || !reflect.DeepEqual(back, in) {
			t.Fatalf("%q: read as %+v, encoded %s, read back as %+v, %v", body, in, again, back, err)
		}
	})
}

// FuzzStripOwnCookies: the Cookie lines of a request that goes upstream.
// After stripOwnCookies, Go's cookie parser finds none of phone_otp's
// cookies in what is left, and every other cookie it found before is
// still there, in order.
func FuzzStripOwnCookies(f *testing.F) {
	for _, s := range []string{
		"other=1; otp_session=tok; otp_session_challenge=ch; otp_session_csrf=n; otp_sessionx=2",
		"otp_session=tok", `otp_session="tok"`, "otp_session=", " otp_session=tok \t", "otp_session=tok;x=1",
		"otp_session2=tok", "otp_session_other=1; otp_sessions=2; otp_session_csrfx=3; otp_session_devices=4",
		"a=otp_session; b=otp_session=x", "my_otp_session=1", "OTP_SESSION=1", "a=1\notp_session=tok\nb=2; otp_session_csrf=n",
		"otp_session=a; x=1; otp_session=b", "x=1;  otp_session =tok ;y=2", "", ";;", "x=\"a;b\"; otp_session=1",
		"otp_session\t=1", "\totp_session=1", "otp_session_device=d;otp_session_device=e",
	} {
		f.Add(s)
	}
	h := &Handler{CookieName: "otp_session"}
	f.Fuzz(func(t *testing.T, lines string) {
		r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
		if lines != "" {
			r.Header["Cookie"] = strings.Split(lines, "\n")
		}
		var others []string
		for _, c := range r.Cookies() {
			if !h.ownCookie(c.Name) {
				others = append(others, c.Name+"="+c.Value)
			}
		}
		h.stripOwnCookies(r)
		var left []string
		for _, c := range r.Cookies() {
			if h.ownCookie(c.Name) {
				t.Fatalf("Cookie %q: own cookie %q left in %q", lines, c.Name, r.Header["Cookie"])
			}
			left = append(left, c.Name+"="+c.Value)
		}
		if !slices.Equal(left, others) {
			t.Fatalf("Cookie %q: other cookies %q, after stripping %q (%q)", lines, others, left, r.Header["Cookie"])
		}
	})
}
