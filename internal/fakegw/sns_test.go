package fakegw

import (
	"net/url"
	"strings"
	"testing"
)

func TestSNS(t *testing.T) {
	rec := &recorder{TB: t}
	f := NewGateways(rec)
	form := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "PhoneNumber": {"+12015550123"}, "Message": {"hello"},
		"MessageAttributes.entry.1.Name": {"AWS.SNS.SMS.SMSType"}, "MessageAttributes.entry.1.Value.DataType": {"String"},
		"MessageAttributes.entry.1.Value.StringValue": {"Transactional"}}.Encode()
	auth := func(key, region string) string {
		return "AWS4-HMAC-SHA256 Credential=" + key + "/20260101/" + region + "/sns/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" + strings.Repeat("ab", 32)
	}
	publish := func(body, authz string) (int, string) {
		return call(t, "POST", f.URL()+"/", "application/x-www-form-urlencoded", body, "Authorization", authz, "X-Amz-Date", "20260101T000000Z")
	}
	if st, b := publish(form, auth("AKIAOTHER", SNSRegion)); st != 403 || !strings.Contains(b, "<Code>InvalidClientTokenId</Code>") {
		t.Errorf("unknown key: %d %s", st, b)
	}
	if st, b := publish(form, auth(SNSAccessKey, SNSRegion)); st != 200 || !strings.Contains(b, "<PublishResult><MessageId>") {
		t.Errorf("publish: %d %s", st, b)
	}
	if f.LastText("+12015550123") != "hello" {
		t.Errorf("delivered %q", f.LastText("+12015550123"))
	}
	f.Set("refuse")
	if st, b := publish(form, auth(SNSAccessKey, SNSRegion)); st != 400 || !strings.Contains(b, "<Type>Sender</Type><Code>InvalidParameter</Code>") {
		t.Errorf("refuse: %d %s", st, b)
	}
	f.Set("")
	if len(rec.errs) != 0 {
		t.Errorf("errors before the bad requests: %q", rec.errs)
	}
	publish(form, auth(SNSAccessKey, "us-east-1"))                                             // wrong region
	publish(strings.Replace(form, "Publish", "Subscribe", 1), auth(SNSAccessKey, SNSRegion))   // another action
	publish(strings.Replace(form, "%2B12015550123", "12ab", 1), auth(SNSAccessKey, SNSRegion)) // not E.164
	publish(strings.Replace(form, "Transactional", "Promotional", 1), auth(SNSAccessKey, SNSRegion))
	rec.end()
	if len(rec.errs) != 4 {
		t.Errorf("the fake reported %q, want the 4 bad requests", rec.errs)
	}
	a := SNSAttributes(url.Values{"MessageAttributes.entry.1.Name": {"A"}, "MessageAttributes.entry.1.Value.DataType": {"String"},
		"MessageAttributes.entry.1.Value.StringValue": {"x"}, "MessageAttributes.entry.2.Name": {"B"}, "MessageAttributes.entry.2.Value.DataType": {"Binary"}})
	if len(a) != 2 || a["A"] != "x" || a["B"] != "(Binary)" {
		t.Errorf("SNSAttributes = %v", a)
	}
}
