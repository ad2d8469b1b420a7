package controller

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/store"
	"github.com/vela-appliance/vela/cluster/swarm/swarmtest"
)

// plane is one in-process member: real Raft with its log on disk, the FSM,
// and a running controller.
type plane struct {
	t     testing.TB
	fsm   *fsm.FSM
	store *store.Store
	ctl   *Controller
	mu    sync.Mutex
	hooks []func(uint64)
}

// onApply adds a hook called after each applied entry.
func (p *plane) onApply(fn func(uint64)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hooks = append(p.hooks, fn)
}

func newPlane(t testing.TB, pool string) *plane {
	t.Helper()
	p := &plane{t: t}
	p.fsm = fsm.New(fsm.Config{OnApply: func(i uint64) {
		p.mu.Lock()
		hooks := p.hooks
		p.mu.Unlock()
		for _, h := range hooks {
			h(i)
		}
	}})
	_, trans := raft.NewInmemTransport("m1")
	st, err := store.Open(store.Config{DataDir: t.TempDir(), ID: "m1", Transport: trans, FSM: p.fsm})
	if err != nil {
		t.Fatal(err)
	}
	p.store = st
	t.Cleanup(func() { _ = st.Raft().Shutdown().Error() })
	if err := st.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "leadership", func() bool { return st.IsLeader() })
	c, err := New(Config{Proposer: st, State: p.fsm, Pool: pool, Interval: 300 * time.Millisecond, EngineTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.ctl = c
	p.onApply(c.Notify)
	return p
}

// start runs the controller until the test ends or stop is called.
func (p *plane) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.ctl.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	p.t.Cleanup(stop)
	return stop
}

func (p *plane) apply(typ fsm.Type, body any) error {
	b, err := fsm.Encode(typ, body)
	if err != nil {
		return err
	}
	r, err := p.store.Apply(context.Background(), b)
	if err != nil {
		return err
	}
	return r.Err
}

func (p *plane) mustApply(typ fsm.Type, body any) {
	p.t.Helper()
	if err := p.apply(typ, body); err != nil {
		p.t.Fatal(err)
	}
}

func (p *plane) cluster(key string) (fsm.Cluster, bool) {
	var c fsm.Cluster
	var ok bool
	p.fsm.View(func(s *fsm.State) { c, ok = s.Clusters[key] })
	return c, ok
}

// create records a cluster as the API does (CA made before proposing).
func (p *plane) create(tenant, name string, nodes int) {
	p.t.Helper()
	cert, key, err := credentials.NewCA(tenant+"/"+name, time.Now())
	if err != nil {
		p.t.Fatal(err)
	}
	p.mustApply(fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: fsm.Cluster{Tenant: tenant, Name: name, Nodes: nodes,
		State: fsm.ClusterNew, Generation: 1, CACert: string(cert), CAKey: string(key)}})
}

// change applies fn to the cluster's spec and bumps its generation.
func (p *plane) change(key string, fn func(*fsm.Cluster)) uint64 {
	p.t.Helper()
	c, ok := p.cluster(key)
	if !ok {
		p.t.Fatalf("no cluster %s", key)
	}
	fn(&c)
	c.Generation++
	p.mustApply(fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Object: c})
	return c.Generation
}

// waitState waits until the cluster reaches state for generation gen.
func (p *plane) waitState(key, state string, gen uint64, d time.Duration) fsm.Cluster {
	p.t.Helper()
	var c fsm.Cluster
	waitFor(p.t, d, "cluster "+key+" "+state, func() bool {
		c, _ = p.cluster(key)
		return c.State == state && c.Observed >= gen
	})
	return c
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		<-tick.C
	}
}

// fakeAgent plays the hypervisor agents: for each node record it starts a
// real dockerd (swarmtest) in a network namespace with the record's address
// and TLS material, and reports running; for a deleted one it stops it.
type fakeAgent struct {
	p      *plane
	router *swarmtest.Router
	mu     sync.Mutex
	nodes  map[string]*swarmtest.Node
	busy   map[string]bool
	hvs    []fsm.Hypervisor
}

func startAgent(t testing.TB, p *plane, hvs ...fsm.Hypervisor) *fakeAgent {
	a := &fakeAgent{p: p, router: swarmtest.NewRouter(t), nodes: map[string]*swarmtest.Node{}, busy: map[string]bool{}, hvs: hvs}
	a.heartbeat()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		beat := time.NewTicker(5 * time.Second)
		defer beat.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-beat.C:
				a.heartbeat()
			case <-tick.C:
				a.pass(ctx, &wg)
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return a
}

func (a *fakeAgent) heartbeat() {
	for _, h := range a.hvs {
		h.State, h.LastSeen = fsm.HypervisorReady, time.Now()
		_ = a.p.apply(fsm.TypeHypervisorUpsert, fsm.Upsert[fsm.Hypervisor]{Object: h})
	}
}

func (a *fakeAgent) pass(ctx context.Context, wg *sync.WaitGroup) {
	var nodes []fsm.Node
	a.p.fsm.View(func(s *fsm.State) { nodes = fsm.Sorted(s.Nodes) })
	for _, n := range nodes {
		a.mu.Lock()
		busy := a.busy[n.Name]
		if !busy && ((n.Desired != fsm.NodeDesiredDeleted && n.State == "") || (n.Desired == fsm.NodeDesiredDeleted && n.State != fsm.NodeDeleted)) {
			a.busy[n.Name] = true
			busy = false
		} else {
			busy = true
		}
		a.mu.Unlock()
		if busy {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			state, reason := a.act(n)
			a.report(n.Name, state, reason)
			a.mu.Lock()
			delete(a.busy, n.Name)
			a.mu.Unlock()
		}()
	}
}

func (a *fakeAgent) act(n fsm.Node) (state, reason string) {
	if n.Desired == fsm.NodeDesiredDeleted {
		a.mu.Lock()
		nd := a.nodes[n.Name]
		delete(a.nodes, n.Name)
		a.mu.Unlock()
		if nd != nil {
			nd.Stop()
		}
		return fsm.NodeDeleted, ""
	}
	if n.TLS == nil {
		return fsm.NodeFailed, "no TLS material in the node record"
	}
	nd, err := a.router.Start(swarmtest.NodeSpec{Name: n.Name, Address: n.Address, Gateway: n.Gateway,
		CACert: []byte(n.TLS.CACert), Cert: []byte(n.TLS.Cert), Key: []byte(n.TLS.Key)})
	if err != nil {
		return fsm.NodeFailed, err.Error()
	}
	a.mu.Lock()
	a.nodes[n.Name] = nd
	a.mu.Unlock()
	return fsm.NodeRunning, ""
}

// report writes State and Reason on the latest version of the record.
func (a *fakeAgent) report(name, state, reason string) {
	for range 5 {
		var n fsm.Node
		var ok bool
		a.p.fsm.View(func(s *fsm.State) { n, ok = s.Nodes[name] })
		if !ok {
			return
		}
		if a.p.apply(fsm.TypeNodeStatus, fsm.SetNodeStatus{Name: name, Hypervisor: n.Hypervisor, State: state, Reason: reason}) == nil {
			return
		}
	}
}

func (a *fakeAgent) running() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.nodes)
}

func hypervisor(name string, memGiB int64) fsm.Hypervisor {
	return fsm.Hypervisor{Name: name, Address: "127.0.0.1", CPUs: 32, MemoryBytes: memGiB << 30, DiskBytes: 1e12}
}

func ipOf(t *testing.T, cidr string) string {
	ip, _, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return ip.String()
}
