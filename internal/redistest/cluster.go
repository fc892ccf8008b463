package redistest

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Cluster is a Redis Cluster of three masters, each owning a third of the
// hash slots, made the way an operator makes one (redis-cli --cluster
// create), so that keys and sharded channels really live on different
// processes.
type Cluster struct {
	Nodes []*Server
}

// StartCluster3 runs a three-master Redis Cluster for t and stops it at
// t's end. Without redis-server or redis-cli on PATH it skips t, or fails
// it when PHONE_OTP_CI=1.
func StartCluster3(t testing.TB) *Cluster {
	t.Helper()
	cli := lookPath(t, "redis-cli")
	c := &Cluster{}
	for range 3 {
		c.Nodes = append(c.Nodes, newServer(t, true, false))
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, n := range c.Nodes {
		n.waitFor("cluster up", func() bool {
			info, err := n.Do("CLUSTER", "INFO")
			return err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:3") && strings.Contains(info, "cluster_size:3")
		})
	}
	return c
}

// Addrs are the nodes' host:port, for clients (all of them as seeds).
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// NodeFor returns the node that owns key's hash slot (CLUSTER KEYSLOT,
// then the slot ranges of CLUSTER SHARDS' simpler cousin, CLUSTER NODES).
func (c *Cluster) NodeFor(t testing.TB, key string) *Server {
	t.Helper()
	slotText, err := c.Nodes[0].Do("CLUSTER", "KEYSLOT", key)
	if err != nil {
		t.Fatal(err)
	}
	slot, _ := strconv.Atoi(slotText)
	for _, n := range c.Nodes {
		id, err := n.Do("CLUSTER", "MYID")
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := n.Do("CLUSTER", "NODES")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(nodes, "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || f[0] != id {
				continue
			}
			for _, r := range f[8:] {
				lo, hi, ok := strings.Cut(r, "-")
				if !ok {
					hi = lo
				}
				a, err1 := strconv.Atoi(lo)
				b, err2 := strconv.Atoi(hi)
				if err1 == nil && err2 == nil && a <= slot && slot <= b {
					return n
				}
			}
		}
	}
	t.Fatalf("redistest: no node owns slot %d", slot)
	return nil
}
