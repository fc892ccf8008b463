package redistest

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// StartReplica runs a redis-server that replicates master, and waits
// until its link to the master is up and it has caught up.
func StartReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	s := &Server{t: t, bin: lookPath(t, Binary), master: master, Port: freePort(t)}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	s.Restart()
	t.Cleanup(s.Stop)
	s.waitForMasterLink()
	s.CaughtUp(master)
	return s
}

// waitForMasterLink waits until the replica s is linked to its master.
func (s *Server) waitForMasterLink() {
	s.t.Helper()
	s.waitFor("the link to the master", func() bool {
		info, err := s.Do("INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
}

// CaughtUp waits until the replica s has everything master has written.
func (s *Server) CaughtUp(master *Server) {
	s.t.Helper()
	s.waitFor("the replica to catch up", func() bool {
		m, err1 := master.Do("INFO", "replication")
		r, err2 := s.Do("INFO", "replication")
		mo, ro := infoField(m, "master_repl_offset"), infoField(r, "slave_repl_offset")
		return err1 == nil && err2 == nil && mo != "" && mo == ro
	})
}

// Role is "master" or "slave", from INFO replication.
func (s *Server) Role() string {
	info, err := s.Do("INFO", "replication")
	if err != nil {
		return ""
	}
	return infoField(info, "role")
}

// WaitForReplicas waits until the Sentinel s knows n replicas of its
// master (it learns of them from the master's INFO).
func (s *Server) WaitForReplicas(n int) {
	s.t.Helper()
	s.waitFor("the Sentinel to know the replicas", func() bool {
		info, err := s.Do("INFO", "sentinel")
		return err == nil && strings.Contains(info, "status=ok") && strings.Contains(info, "slaves="+strconv.Itoa(n)+",")
	})
}

// WaitFor polls ok every 10ms for up to 10s, failing the test after.
func (s *Server) WaitFor(what string, ok func() bool) {
	s.t.Helper()
	s.waitFor(what, ok)
}

func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
