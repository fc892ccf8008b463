package redistest

import "testing"

// TestStartReplica: a replica follows its master (a write on the master
// is read on the replica once it has caught up), refuses writes, and a
// Sentinel watching the master knows it.
func TestStartReplica(t *testing.T) {
	m := Start(t)
	r := StartReplica(t, m)
	if got := r.Role(); got != "slave" {
		t.Fatalf("replica's role %q", got)
	}
	if _, err := m.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	r.CaughtUp(m)
	if v, err := r.Do("GET", "k"); err != nil || v != "v" {
		t.Fatalf("GET on the replica: %q %v", v, err)
	}
	if _, err := r.Do("SET", "k", "w"); err == nil {
		t.Error("the replica took a write")
	}
	s := StartSentinel(t, m)
	s.WaitForReplicas(1)
}
