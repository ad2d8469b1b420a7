package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/node"
)

// fakeHypervisor keeps domains in a map. Calls are recorded.
type fakeHypervisor struct {
	mu      sync.Mutex
	doms    map[string]hypervisor.State
	calls   []string
	failOn  string // "start:NAME" fails that call
	memory  uint64
	listErr error
	events  chan string
}

func newFakeHypervisor() *fakeHypervisor {
	return &fakeHypervisor{doms: map[string]hypervisor.State{}, memory: 24 << 30, events: make(chan string)}
}

func (f *fakeHypervisor) rec(c string) error {
	f.calls = append(f.calls, c)
	if c == f.failOn {
		return errors.New("injected failure of " + c)
	}
	return nil
}

func (f *fakeHypervisor) Define(_ context.Context, xml string) (hypervisor.Domain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := xml // the fake Nodes returns the name as the XML
	if err := f.rec("define:" + name); err != nil {
		return hypervisor.Domain{}, err
	}
	if _, ok := f.doms[name]; !ok {
		f.doms[name] = hypervisor.Shutoff
	}
	return hypervisor.Domain{Name: name, State: f.doms[name]}, nil
}

func (f *fakeHypervisor) Start(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.rec("start:" + name); err != nil {
		return err
	}
	if _, ok := f.doms[name]; !ok {
		return fmt.Errorf("domain %q: %w", name, hypervisor.ErrNotFound)
	}
	f.doms[name] = hypervisor.Running
	return nil
}

func (f *fakeHypervisor) Stop(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.rec("stop:" + name); err != nil {
		return err
	}
	if _, ok := f.doms[name]; ok {
		f.doms[name] = hypervisor.Shutoff
	}
	return nil
}

func (f *fakeHypervisor) Undefine(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.rec("undefine:" + name); err != nil {
		return err
	}
	delete(f.doms, name)
	return nil
}

func (f *fakeHypervisor) List(context.Context) ([]hypervisor.Domain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []hypervisor.Domain
	for n, s := range f.doms {
		out = append(out, hypervisor.Domain{Name: n, State: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeHypervisor) Info(context.Context) (hypervisor.HostInfo, error) {
	return hypervisor.HostInfo{CPUs: 2, MemoryBytes: f.memory, LibvirtVersion: "9.0.0", DriverVersion: "6.1.0"}, nil
}

// fakeNodes keeps node directories in a set; its "XML" is the node name.
type fakeNodes struct {
	dirs      map[string]bool
	handovers map[string]int
	nets      map[string]bool
	notReady  map[string]error
	routes    []node.Route
	wait      chan struct{} // when set, WaitReady blocks until it is closed
}

func newFakeNodes() *fakeNodes {
	return &fakeNodes{dirs: map[string]bool{}, handovers: map[string]int{}, nets: map[string]bool{}, notReady: map[string]error{}}
}

func (f *fakeNodes) Prepare(_ context.Context, s node.Spec, _ node.TLS) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	f.dirs[s.Name] = true
	return s.Name, nil
}
func (f *fakeNodes) Handover(_ context.Context, s node.Spec) error { f.handovers[s.Name]++; return nil }
func (f *fakeNodes) WaitReady(ctx context.Context, s node.Spec) error {
	if f.wait != nil {
		select {
		case <-f.wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.notReady[s.Name]
}
func (f *fakeNodes) Remove(_ context.Context, name string) error { delete(f.dirs, name); return nil }
func (f *fakeNodes) Nodes() ([]string, error) {
	var out []string
	for n := range f.dirs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
func (f *fakeNodes) EnsureNetwork(_ context.Context, n node.TenantNet) (string, error) {
	f.nets[n.Tenant] = true
	return node.BridgeName(n.Tenant), nil
}

func (f *fakeNodes) EnsureRoutes(_ context.Context, local []node.TenantNet, routes []node.Route) error {
	f.routes = routes
	return nil
}

// fakeControlPlane serves a fixed desired list and records reports.
type fakeControlPlane struct {
	mu       sync.Mutex
	desired  []DesiredNode
	reports  []NodeStatus
	reg      *Registration
	beats    int
	reported chan NodeStatus
}

func (f *fakeControlPlane) Register(_ context.Context, r Registration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reg = &r
	return nil
}
func (f *fakeControlPlane) Heartbeat(context.Context, Usage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beats++
	return nil
}
func (f *fakeControlPlane) DesiredNodes(context.Context, string) ([]DesiredNode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]DesiredNode(nil), f.desired...), nil
}
func (f *fakeControlPlane) ReportNode(_ context.Context, _ string, s NodeStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, s)
	if f.reported != nil {
		f.reported <- s
	}
	return nil
}
func (f *fakeControlPlane) takeReports() []NodeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reports
	f.reports = nil
	return r
}

// Watch delivers the names sent on f.events until ctx ends.
func (f *fakeHypervisor) Watch(ctx context.Context, changed func(string)) error {
	for {
		select {
		case n := <-f.events:
			changed(n)
		case <-ctx.Done():
			return nil
		}
	}
}
