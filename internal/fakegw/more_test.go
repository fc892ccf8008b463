package fakegw

import "testing"

// TestServeMoreUnknown: a path no fake speaks is reported, not answered.
func TestServeMoreUnknown(t *testing.T) {
	rec := &recorder{TB: t}
	f := NewGateways(rec)
	if st, _ := call(t, "POST", f.URL()+"/nope", "application/json", `{}`); st != 404 {
		t.Errorf("unknown path: %d", st)
	}
	// SNS's path is "/", told apart by its signature's date header.
	if st, _ := call(t, "POST", f.URL()+"/", "application/x-www-form-urlencoded", "Action=Publish"); st != 404 {
		t.Errorf("unsigned POST /: %d", st)
	}
	rec.end()
	if len(rec.errs) != 2 {
		t.Errorf("reported %q, want both", rec.errs)
	}
}
