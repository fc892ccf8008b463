package fakegw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestCheckSigV4 checks the fake's SigV4 check against the AWS SDK's
// signer: a signed request passes, and any change to what was signed
// fails.
func TestCheckSigV4(t *testing.T) {
	sign := func(body, secret string) *http.Request {
		req, _ := http.NewRequest("POST", "http://sns.test/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sns", "eu-west-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		req.Host = req.URL.Host
		return req
	}
	if r := sign("Action=Publish", "s"); !checkSigV4(r, "s") {
		t.Error("an SDK-signed request fails the check")
	} else if b, _ := io.ReadAll(r.Body); string(b) != "Action=Publish" {
		t.Errorf("body after the check %q", b)
	}
	tests := map[string]func(r *http.Request){
		"other secret": func(r *http.Request) {
			r.Header.Set("Authorization", sign("Action=Publish", "other").Header.Get("Authorization"))
		},
		"body changed":   func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("Action=Subscribe")) },
		"header changed": func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
		"no date":        func(r *http.Request) { r.Header.Del("X-Amz-Date") },
		"no signature":   func(r *http.Request) { r.Header.Del("Authorization") },
	}
	for name, edit := range tests {
		r := sign("Action=Publish", "s")
		edit(r)
		if checkSigV4(r, "s") {
			t.Errorf("%s: passes the check", name)
		}
	}
}
