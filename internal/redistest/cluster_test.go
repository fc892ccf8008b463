package redistest

import (
	"fmt"
	"strings"
	"testing"
)

// TestStartCluster3: three processes, each a master owning slots, that
// know each other; keys spread over all three, and a node refuses a key it
// does not own (so a client must route, as a real cluster makes it).
func TestStartCluster3(t *testing.T) {
	c := StartCluster3(t)
	if len(c.Addrs()) != 3 {
		t.Fatalf("addresses %v", c.Addrs())
	}
	owners := map[string]bool{}
	for i := range 30 {
		key := fmt.Sprintf("k%d", i)
		n := c.NodeFor(t, key)
		owners[n.Addr] = true
		if _, err := n.Do("SET", key, "v"); err != nil {
			t.Fatalf("SET %s on its owner: %v", key, err)
		}
		for _, o := range c.Nodes {
			if o == n {
				continue
			}
			if _, err := o.Do("GET", key); err == nil || !strings.Contains(err.Error(), "MOVED") {
				t.Fatalf("GET %s on a node that does not own it: %v, want MOVED", key, err)
			}
		}
	}
	if len(owners) != 3 {
		t.Errorf("30 keys on %d nodes, want 3", len(owners))
	}
	for _, n := range c.Nodes {
		if r := n.Role(); r != "master" {
			t.Errorf("%s is a %s", n.Addr, r)
		}
	}
}
