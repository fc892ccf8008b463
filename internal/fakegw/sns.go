package fakegw

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The credentials and region the fake Amazon SNS expects.
const (
	SNSAccessKey = "AKIAFAKEGWTEST000001"
	SNSSecretKey = "fakegw-sns-secret-key"
	SNSRegion    = "eu-west-1"
)

// Amazon SNS's Publish to a phone number, in the Query protocol the AWS
// SDK for Go v2 speaks for SNS (checked against the SDK itself,
// service/sns v1.48.0: api_client.go sets awsquery.New, and its request
// snapshot Publish.request.snap is "POST /", form body
// Action=Publish&Message=…&MessageAttributes.entry.N.Name=…&…&PhoneNumber=…&Version=2010-03-31;
// response snapshot Publish.response.snap is
// <PublishResponse><PublishResult><MessageId>…). Errors follow the SNS API
// reference's common error shape, <ErrorResponse><Error><Type>Sender</Type>
// <Code>InvalidParameter</Code><Message>…</Message></Error><RequestId>…,
// with the Publish errors it lists: InvalidParameter (400),
// AuthorizationError (403), ThrottledException (429, wire code Throttled,
// as the SDK's schema has it), InternalError (500).

var snsCredential = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/[0-9]{8}/([^/]+)/sns/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`)

// snsForm checks what SNS checks of every Publish: the form, the action
// and version, and a SigV4 signature for the sns service, made with
// SNSSecretKey. It returns
// the form, or "" and the error SNS would answer.
func snsForm(r *http.Request) (url.Values, int, string, string) {
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return nil, 400, "MalformedQueryString", fmt.Sprintf("%s %s is not a Query API call", r.Method, r.URL.Path)
	}
	m := snsCredential.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil || r.Header.Get("X-Amz-Date") == "" {
		return nil, 403, "MissingAuthenticationToken", "Request is missing Authentication Token"
	}
	if m[1] != SNSAccessKey {
		return nil, 403, "InvalidClientTokenId", "The security token included in the request is invalid."
	}
	if m[2] != SNSRegion {
		return nil, 403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region."
	}
	if !checkSigV4(r, SNSSecretKey) {
		return nil, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	if r.ParseForm() != nil {
		return nil, 400, "MalformedQueryString", "the body is not a form"
	}
	f := r.PostForm
	if f.Get("Action") != "Publish" || f.Get("Version") != "2010-03-31" {
		return nil, 400, "InvalidAction", "Could not find operation " + f.Get("Action") + " for version " + f.Get("Version")
	}
	if !e164.MatchString(f.Get("PhoneNumber")) || f.Get("Message") == "" || f.Get("TopicArn") != "" || f.Get("TargetArn") != "" {
		return nil, 400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: " + f.Get("PhoneNumber") + " is not valid to publish to"
	}
	return f, 0, "", ""
}

// SNSAttributes are the message attributes of a Publish form, by name:
// MessageAttributes.entry.N.Name, .Value.DataType, .Value.StringValue.
func SNSAttributes(f url.Values) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		p := fmt.Sprintf("MessageAttributes.entry.%d.", i)
		name := f.Get(p + "Name")
		if name == "" {
			return out
		}
		if f.Get(p+"Value.DataType") == "String" {
			out[name] = f.Get(p + "Value.StringValue")
		} else {
			out[name] = "(" + f.Get(p+"Value.DataType") + ")"
		}
	}
}

// SNSError writes SNS's error document.
func SNSError(w http.ResponseWriter, status int, code, msg string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		typ, code, xmlText(msg), "9f5a1c3e-0000-5000-8000-000000000001")
}

// SNSPublished is SNS's answer to a Publish it took.
func SNSPublished(id string) string {
	return `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>` + id +
		`</MessageId></PublishResult><ResponseMetadata><RequestId>9f5a1c3e-0000-5000-8000-000000000002</RequestId></ResponseMetadata></PublishResponse>`
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (f *Gateways) sns(w http.ResponseWriter, r *http.Request, mode string) {
	form, status, code, msg := snsForm(r)
	if form == nil {
		if code != "InvalidClientTokenId" {
			f.bad("SNS: %s: %s", code, msg)
		}
		SNSError(w, status, code, msg)
		return
	}
	to := form.Get("PhoneNumber")
	if mode == "refuse" {
		SNSError(w, 400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: "+to+" is not valid to publish to")
		return
	}
	if a := SNSAttributes(form); a["AWS.SNS.SMS.SMSType"] != "Transactional" {
		f.bad("SNS: SMSType %q, want Transactional", a["AWS.SNS.SMS.SMSType"])
	}
	f.mu.Lock()
	d := strings.TrimPrefix(to, "+")
	f.texts[d] = append(f.texts[d], form.Get("Message"))
	f.seq++
	id := fmt.Sprintf("5f2b7c1e-%04x-5a1b-9c3d-%012x", f.seq, f.seq)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.Write([]byte(SNSPublished(id)))
}

// SNSAPI is a Reply that first checks what SNS checks of every Publish
// (see snsForm), then hands the form to inspect, if any; a failed check
// is an error of t. It answers XML.
func SNSAPI[T testing.TB](t T, status int, body string, inspect func(t T, form url.Values)) *Reply {
	t.Helper()
	f := newReply(t, status, body, false, func(r *http.Request) {
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "caddy-phone-otp/") || !strings.Contains(ua, "aws-sdk-go-v2/") {
			t.Errorf("User-Agent %q", ua)
		}
		form, _, code, msg := snsForm(r)
		if form == nil {
			t.Errorf("SNS would refuse: %s: %s", code, msg)
			return
		}
		if inspect != nil {
			inspect(t, form)
		}
	})
	f.ctype = "text/xml"
	return f
}
