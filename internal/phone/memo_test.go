package phone

import (
	"fmt"
	"hash/maphash"
	"sync"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// parsed is what lookup must answer: phonenumbers asked afresh.
func parsed(e164 string) (region, kind string) {
	num, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil {
		return "", "unknown"
	}
	kind = "unknown"
	if name, ok := typeNames[phonenumbers.GetNumberType(num)]; ok {
		kind = name
	}
	return phonenumbers.GetRegionCodeForNumber(num), kind
}

// TestLookupAnswersAsAParse: from the table or not, after other numbers
// took its slot or not, a number's region and type are a parse's.
func TestLookupAnswersAsAParse(t *testing.T) {
	numbers := []string{"+12015550123", "+447400123456", "+4915123456789", "+33612345678",
		"+819012345678", "+442079460000", "+448712345678", "+800 1234 5678", "+999123", "not a number"}
	for n := 0; n < memoSlots+64; n++ { // more numbers than slots: slots are replaced
		numbers = append(numbers, fmt.Sprintf("+4474%08d", n))
	}
	for round := 0; round < 2; round++ {
		for _, e := range numbers {
			region, kind := parsed(e)
			if f := lookup(e); f.region != region || f.kind != kind || f.e164 != e {
				t.Fatalf("round %d: lookup(%q) = %+v, a parse says %q %q", round, e, *f, region, kind)
			}
			if Region(e) != region || Type(e) != kind {
				t.Fatalf("Region/Type(%q) = %q %q, a parse says %q %q", e, Region(e), Type(e), region, kind)
			}
		}
	}
	if Type("+447400123456") != "mobile" || Region("+447400123456") != "GB" {
		t.Errorf("a UK mobile: %q %q", Type("+447400123456"), Region("+447400123456"))
	}
	if Type("+448712345678") == "mobile" {
		t.Errorf("a UK 087 number counted as mobile")
	}
}

// TestLookupComparesTheWholeNumber: another number's facts in this
// number's slot are not an answer for it.
func TestLookupComparesTheWholeNumber(t *testing.T) {
	const e = "+12015550123"
	slot := &memo[maphash.String(memoSeed, e)&(memoSlots-1)]
	slot.Store(&facts{e164: "+447400123456", region: "GB", kind: "premium_rate"})
	if f := lookup(e); f.region != "US" || f.kind == "premium_rate" {
		t.Errorf("lookup(%q) answered another number's facts: %+v", e, *f)
	}
}

// TestLookupConcurrent: many goroutines on few slots (run with -race).
func TestLookupConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 2000; n++ {
				e := fmt.Sprintf("+1201555%04d", (n*7+g)%50)
				if Region(e) != "US" {
					t.Errorf("Region(%q) = %q", e, Region(e))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestParseForSendAnswersAsAParse: the facts a send's own parse leaves in
// the table, of a number typed in any form, are those a parse of its
// E.164 form gives.
func TestParseForSendAnswersAsAParse(t *testing.T) {
	for _, tt := range []struct{ input, region string }{
		{"+1 (201) 555-0123", ""}, {"07400 123456", "GB"}, {"+44 871 234 5678", ""},
		{"0612345678", "FR"}, {"+39 06 1234 5678", ""}, {"06 1234 5678", "IT"},
		{"+49 151 23456789", ""}, {"090-1234-5678", "JP"},
	} {
		e164, err := ParseForSend(tt.input, tt.region)
		if err != nil {
			t.Fatalf("ParseForSend(%q, %q): %v", tt.input, tt.region, err)
		}
		region, kind := parsed(e164)
		slot := &memo[maphash.String(memoSeed, e164)&(memoSlots-1)]
		if f := slot.Load(); f == nil || f.e164 != e164 || f.region != region || f.kind != kind {
			t.Errorf("ParseForSend(%q) left %+v, a parse of %s says %q %q", tt.input, f, e164, region, kind)
		}
	}
}
