package fakegw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestSNS(t *testing.T) {
	rec := &recorder{TB: t}
	f := NewGateways(rec)
	form := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "PhoneNumber": {"+12015550123"}, "Message": {"hello"},
		"MessageAttributes.entry.1.Name": {"AWS.SNS.SMS.SMSType"}, "MessageAttributes.entry.1.Value.DataType": {"String"},
		"MessageAttributes.entry.1.Value.StringValue": {"Transactional"}}.Encode()
	// Signed by the AWS SDK's own SigV4 signer, not by the fake's check.
	publish := func(body, key, secret, region string) (int, string) {
		req, err := http.NewRequest("POST", f.URL()+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "caddy-phone-otp/test")
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sns", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := publish(form, "AKIAOTHER", SNSSecretKey, SNSRegion); st != 403 || !strings.Contains(b, "<Code>InvalidClientTokenId</Code>") {
		t.Errorf("unknown key: %d %s", st, b)
	}
	if st, b := publish(form, SNSAccessKey, SNSSecretKey, SNSRegion); st != 200 || !strings.Contains(b, "<PublishResult><MessageId>") {
		t.Errorf("publish: %d %s", st, b)
	}
	if f.LastText("+12015550123") != "hello" {
		t.Errorf("delivered %q", f.LastText("+12015550123"))
	}
	f.Set("refuse")
	if st, b := publish(form, SNSAccessKey, SNSSecretKey, SNSRegion); st != 400 || !strings.Contains(b, "<Type>Sender</Type><Code>InvalidParameter</Code>") {
		t.Errorf("refuse: %d %s", st, b)
	}
	f.Set("")
	if len(rec.errs) != 0 {
		t.Errorf("errors before the bad requests: %q", rec.errs)
	}
	publish(form, SNSAccessKey, SNSSecretKey, "us-east-1")                                             // wrong region
	publish(strings.Replace(form, "Publish", "Subscribe", 1), SNSAccessKey, SNSSecretKey, SNSRegion)   // another action
	publish(strings.Replace(form, "%2B12015550123", "12ab", 1), SNSAccessKey, SNSSecretKey, SNSRegion) // not E.164
	publish(strings.Replace(form, "Transactional", "Promotional", 1), SNSAccessKey, SNSSecretKey, SNSRegion)
	if st, b := publish(form, SNSAccessKey, "another-secret", SNSRegion); st != 403 || !strings.Contains(b, "<Code>SignatureDoesNotMatch</Code>") {
		t.Errorf("wrong secret: %d %s", st, b)
	}
	rec.end()
	if len(rec.errs) != 5 {
		t.Errorf("the fake reported %q, want the 5 bad requests", rec.errs)
	}
	a := SNSAttributes(url.Values{"MessageAttributes.entry.1.Name": {"A"}, "MessageAttributes.entry.1.Value.DataType": {"String"},
		"MessageAttributes.entry.1.Value.StringValue": {"x"}, "MessageAttributes.entry.2.Name": {"B"}, "MessageAttributes.entry.2.Value.DataType": {"Binary"}})
	if len(a) != 2 || a["A"] != "x" || a["B"] != "(Binary)" {
		t.Errorf("SNSAttributes = %v", a)
	}
}
