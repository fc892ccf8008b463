package caddysms

import "github.com/caddyotp/caddyotp/sms"

// FailoverOver is a Failover over members named by name, in order, for
// the tests in caddysms_test, which may import the providers.
func FailoverOver(name []string, ps ...sms.Provider) *Failover {
	f := &Failover{}
	for i, p := range ps {
		rc, _ := p.(sms.RemoteChecker)
		f.members = append(f.members, failoverMember{name: name[i], p: p, rc: rc})
	}
	return f
}
