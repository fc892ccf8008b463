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
	return startCluster(t, 0, 0)
}

// StartClusterReplicated runs a Redis Cluster of three masters, each with
// a replica (six processes), for failover tests: a node is taken for
// failed after a second without an answer (Redis's default is 15s), so a
// master's replica is promoted a few seconds after the master dies.
func StartClusterReplicated(t testing.TB) *Cluster {
	t.Helper()
	return startCluster(t, 1, 1000)
}

// startCluster makes a cluster of three masters with replicas replicas
// each, and nodeTimeout (ms; 0: Redis's default) as cluster-node-timeout.
func startCluster(t testing.TB, replicas, nodeTimeout int) *Cluster {
	t.Helper()
	cli := lookPath(t, "redis-cli")
	c := &Cluster{}
	n := 3 * (1 + replicas)
	for range n {
		c.Nodes = append(c.Nodes, newServer(t, true, false, nodeTimeout))
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, node := range c.Nodes {
		node.waitFor("cluster up", func() bool {
			info, err := node.Do("CLUSTER", "INFO")
			return err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)) && strings.Contains(info, "cluster_size:3")
		})
	}
	if replicas > 0 {
		for _, node := range c.Nodes {
			if node.Role() == "slave" {
				node.waitForMasterLink()
			}
		}
	}
	return c
}

// CaughtUp waits until every replica of the cluster has everything its
// master has written (a node that does not answer, killed, is passed by).
func (c *Cluster) CaughtUp(t testing.TB) {
	t.Helper()
	for _, r := range c.Nodes {
		info, err := r.Do("INFO", "replication")
		if err != nil || infoField(info, "role") != "slave" {
			continue
		}
		port := infoField(info, "master_port")
		for _, m := range c.Nodes {
			if strconv.Itoa(m.Port) == port {
				r.CaughtUp(m)
			}
		}
	}
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
// then the slot ranges of CLUSTER SHARDS' simpler cousin, CLUSTER NODES),
// among the nodes that answer.
func (c *Cluster) NodeFor(t testing.TB, key string) *Server {
	t.Helper()
	slot := -1
	for _, n := range c.Nodes {
		if text, err := n.Do("CLUSTER", "KEYSLOT", key); err == nil {
			slot, _ = strconv.Atoi(text)
			break
		}
	}
	for _, n := range c.Nodes {
		// Each node's word for itself only, and none from a node that
		// does not answer (killed).
		id, err := n.Do("CLUSTER", "MYID")
		if err != nil {
			continue
		}
		nodes, err := n.Do("CLUSTER", "NODES")
		if err != nil {
			continue
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
