package member

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
)

func loopbackAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestLeaderRunsController boots a one-member cluster and checks that its
// controller (started because the member leads) looks at a new cluster:
// with no hypervisor it reports error with a reason and a next step.
func TestLeaderRunsController(t *testing.T) {
	dir := t.TempDir()
	api := loopbackAddr(t)
	ready := make(chan struct{})
	m, err := New(Config{DataDir: dir, ID: "m1", RaftAddr: loopbackAddr(t), APIAddr: api, CAFile: filepath.Join(dir, "ca.pem"), Bootstrap: true, Ready: ready})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("member not ready")
	}
	tok, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	c, err := client.New(client.Config{Server: api, Token: strings.TrimSpace(string(tok)), CAPEM: caPEM, Retry: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.PutTenant(ctx, "acme", fsm.Quota{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCluster(ctx, "acme", "web", 1, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		cl, err := c.GetCluster(ctx, "acme", "web")
		if err == nil && cl.State == fsm.ClusterError {
			if !strings.Contains(cl.Reason, "no hypervisor is ready") || cl.NextStep == "" {
				t.Fatalf("reason %q next %q", cl.Reason, cl.NextStep)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller never looked at the cluster: %+v %v", cl, err)
		}
		<-tick.C
	}
}
