package fakegw

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// sigV4Auth is the Authorization header of a SigV4-signed request.
var sigV4Auth = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/([0-9]{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// checkSigV4 recomputes r's Signature Version 4 signature with secret,
// as AWS does (docs.aws.amazon.com/IAM/latest/UserGuide/
// reference_sigv-create-signed-request.html: the canonical request, the
// string to sign, the signing key derived from the date, region and
// service), and reports whether it matches. It leaves r's body readable.
func checkSigV4(r *http.Request, secret string) bool {
	m := sigV4Auth.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return false
	}
	date, region, service, signed, sig := m[2], m[3], m[4], strings.Split(m[5], ";"), m[6]
	amzDate := r.Header.Get("X-Amz-Date")
	if !strings.HasPrefix(amzDate, date) || !sort.StringsAreSorted(signed) {
		return false
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon.WriteString(path + "\n" + r.URL.Query().Encode() + "\n")
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			v = strings.Join(r.Header.Values(h), ",")
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	payload := sha256.Sum256(body)
	canon.WriteString("\n" + m[5] + "\n" + hex.EncodeToString(payload[:]))
	hashed := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + date + "/" + region + "/" + service + "/aws4_request\n" + hex.EncodeToString(hashed[:])
	key := []byte("AWS4" + secret)
	for _, part := range []string{date, region, service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	return hmac.Equal([]byte(want), []byte(sig))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
