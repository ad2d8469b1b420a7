package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/node"
)

// Config configures an Agent.
type Config struct {
	Hostname     string
	ControlPlane ControlPlane
	Hypervisor   Hypervisor
	Nodes        Nodes
	// StateDir is where node disks live (its free space is reported).
	StateDir     string
	ImageVersion string
	// Interval between reconciles and heartbeats; default 10s.
	Interval time.Duration
	// ReservedMemory is kept for the host and never given to nodes;
	// default 2 GiB.
	ReservedMemory uint64
	// MemoryOvercommit multiplies what is left for nodes (default 1: the
	// nodes' limits never add up to more than the machine has). A node's
	// limit is a ceiling, not a reservation: above 1, nodes may together
	// be promised more than exists, as a lab does.
	MemoryOvercommit float64
	// ReadyTimeout bounds how long a started node has to run dockerd on
	// its TLS port before it is reported failed; default 30s.
	ReadyTimeout time.Duration
	// HostMemory overrides the machine's memory (default: MemTotal).
	HostMemory uint64
	Logger     *slog.Logger
}

// Agent reconciles one hypervisor.
// NotReadyAttempts is how many passes in a row a started node's dockerd may
// miss ReadyTimeout before the node is reported failed; before that it stays
// "creating" with the reason (a first start under emulation or heavy load
// can take minutes).
const NotReadyAttempts = 5

type Agent struct {
	cfg      Config
	log      *slog.Logger
	reported map[string]NodeStatus
	// notReady counts a node's passes in a row whose dockerd did not
	// answer in time (reconcile's goroutine only).
	notReady map[string]int
	host     hypervisor.HostInfo

	mu    sync.Mutex // guards usage, read by the heartbeat goroutine
	usage Usage
}

// New checks cfg and returns an Agent.
func New(cfg Config) (*Agent, error) {
	if cfg.ControlPlane == nil || cfg.Hypervisor == nil || cfg.Nodes == nil {
		return nil, errors.New("agent: ControlPlane, Hypervisor and Nodes are required")
	}
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		cfg.Hostname = h
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	if cfg.ReservedMemory == 0 {
		cfg.ReservedMemory = 2 << 30
	}
	if cfg.MemoryOvercommit == 0 {
		cfg.MemoryOvercommit = 1
	}
	if cfg.MemoryOvercommit < 1 || cfg.MemoryOvercommit > 4 {
		return nil, fmt.Errorf("agent: memory overcommit %.2f: want 1 to 4", cfg.MemoryOvercommit)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Agent{cfg: cfg, log: cfg.Logger.With("hypervisor", cfg.Hostname), reported: map[string]NodeStatus{}, notReady: map[string]int{}}, nil
}

// Register tells the control plane what this hypervisor offers.
func (a *Agent) Register(ctx context.Context) error {
	hi, err := a.cfg.Hypervisor.Info(ctx)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	// libvirt's LXC driver may report the memory of the cgroup it runs in;
	// nodes are limited against the machine's total.
	if a.cfg.HostMemory > 0 {
		hi.MemoryBytes = a.cfg.HostMemory
	} else if mt := memTotal(); mt > 0 {
		hi.MemoryBytes = mt
	}
	a.host = hi
	// The control plane places nodes by what this hypervisor offers them,
	// the same figure the agent admits nodes by.
	r := Registration{Hostname: a.cfg.Hostname, CPUs: hi.CPUs, MemoryBytes: a.nodeMemory(),
		DiskBytes: freeBytes(a.cfg.StateDir), LibvirtVersion: hi.LibvirtVersion,
		KernelVersion: kernel(), ImageVersion: a.cfg.ImageVersion}
	if err := a.cfg.ControlPlane.Register(ctx, r); err != nil {
		return fmt.Errorf("register hypervisor %q with the control plane: %w", a.cfg.Hostname, err)
	}
	a.log.Info("registered", "cpus", r.CPUs, "memory", r.MemoryBytes, "libvirt", r.LibvirtVersion)
	return nil
}

// Run registers, then reconciles every Interval and whenever wake receives
// or libvirt reports a change, and heartbeats every Interval (registering
// stamped the first), until ctx ends. Errors of one round are logged and
// retried on the next.
func (a *Agent) Run(ctx context.Context, wake <-chan struct{}) error {
	for {
		err := a.Register(ctx)
		if err == nil {
			break
		}
		a.log.Warn("registration failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(a.cfg.Interval):
		}
	}
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	changed := make(chan struct{}, 1)
	if w, ok := a.cfg.Hypervisor.(Watcher); ok {
		go a.watch(ctx, w, changed)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); a.heartbeats(ctx) }()
	for {
		if err := a.Reconcile(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-wake:
		case <-changed:
		}
	}
}

// Watcher is a Hypervisor that reports domain changes as they happen, so a
// node that stops or crashes is dealt with at once rather than at the next
// tick.
type Watcher interface {
	Watch(ctx context.Context, changed func(name string)) error
}

func (a *Agent) watch(ctx context.Context, w Watcher, changed chan<- struct{}) {
	poke := func(string) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	for ctx.Err() == nil {
		err := w.Watch(ctx, poke)
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("libvirt event watch ended; resubscribing", "err", err)
		poke("") // something may have changed while we were not looking
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Reconcile makes libvirt match the desired nodes once: it creates and
// starts what is missing, adopts what already runs, restarts what stopped,
// and removes managed nodes that are no longer desired. It returns the
// joined errors of the nodes it could not fix.
func (a *Agent) Reconcile(ctx context.Context) error {
	want0, err := a.desired(ctx)
	if err != nil {
		return fmt.Errorf("get desired nodes: %w", err)
	}
	desired := want0.Nodes
	doms, err := a.cfg.Hypervisor.List(ctx)
	u := Usage{Hostname: a.cfg.Hostname, LibvirtReachable: err == nil}
	if err != nil {
		a.setUsage(u)
		return fmt.Errorf("list domains: %w", err)
	}
	actual := map[string]hypervisor.Domain{}
	for _, d := range doms {
		actual[d.Name] = d
	}
	var errs []error
	want := map[string]bool{}
	var allocated uint64
	sort.Slice(desired, func(i, j int) bool { return desired[i].Spec.Name < desired[j].Spec.Name })
	for _, d := range desired {
		s := d.Spec.WithDefaults()
		want[s.Name] = true
		dom, exists := actual[s.Name]
		if !exists && a.host.MemoryBytes > 0 && allocated+s.MemoryBytes > a.nodeMemory() {
			a.report(ctx, NodeStatus{Name: s.Name, State: Failed, Reason: fmt.Sprintf(
				"no capacity: %d MiB of memory allocated to nodes, %d MiB asked, %d MiB for nodes (host %d MiB - %d MiB reserved, x%.2f overcommit)",
				allocated>>20, s.MemoryBytes>>20, a.nodeMemory()>>20, a.host.MemoryBytes>>20, a.cfg.ReservedMemory>>20, a.cfg.MemoryOvercommit)})
			continue
		}
		allocated += s.MemoryBytes
		u.Nodes++
		u.AllocatedMemory += s.MemoryBytes
		u.AllocatedVCPUs += s.VCPUs
		u.AllocatedDiskBytes += s.DiskBytes
		if err := a.ensure(ctx, d, dom, exists); err != nil {
			errs = append(errs, err)
			if errors.Is(err, node.ErrNotReady) && a.notReadyAgain(s.Name) < NotReadyAttempts {
				// Slow, not broken: a node still starting says so; one
				// that ran keeps its state until the attempts run out.
				if a.reported[s.Name].State != Running {
					a.report(ctx, NodeStatus{Name: s.Name, State: Creating, Reason: fmt.Sprintf("starting (attempt %d of %d): %v", a.notReady[s.Name], NotReadyAttempts, err)})
				}
				a.log.Warn("node not answering yet; retrying", "node", s.Name, "attempt", a.notReady[s.Name], "err", err)
				continue
			}
			a.report(ctx, NodeStatus{Name: s.Name, State: Failed, Reason: err.Error()})
			continue
		}
		delete(a.notReady, s.Name)
		a.report(ctx, NodeStatus{Name: s.Name, State: Running})
	}
	managed, err := a.cfg.Nodes.Nodes()
	if err != nil {
		errs = append(errs, fmt.Errorf("list node directories: %w", err))
	}
	for _, name := range managed {
		if want[name] {
			continue
		}
		if err := a.remove(ctx, name); err != nil {
			errs = append(errs, err)
			a.report(ctx, NodeStatus{Name: name, State: Failed, Reason: err.Error()})
			continue
		}
		delete(a.notReady, name)
		a.report(ctx, NodeStatus{Name: name, State: Deleted})
	}
	errs = append(errs, a.network(ctx, want0, want, managed)...)
	u.LastReconcileErrors = len(errs)
	a.setUsage(u)
	return errors.Join(errs...)
}

func (a *Agent) setUsage(u Usage) {
	a.mu.Lock()
	a.usage = u
	a.mu.Unlock()
}

// heartbeats sends the latest usage every Interval until ctx ends, apart
// from the reconcile loop: a reconcile waiting for slow nodes must not make
// the hypervisor look unreachable.
func (a *Agent) heartbeats(ctx context.Context) {
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		u := a.usage
		a.mu.Unlock()
		if err := a.cfg.ControlPlane.Heartbeat(ctx, u); err != nil && ctx.Err() == nil {
			a.log.Warn("heartbeat", "err", err)
		}
	}
}

// ensure brings one desired node to running. A domain that already runs is
// adopted as it is (only the host-side handover is re-checked).
func (a *Agent) ensure(ctx context.Context, d DesiredNode, dom hypervisor.Domain, exists bool) error {
	s := d.Spec.WithDefaults()
	// Bridge and rules are re-checked every time: a firewall reload must
	// not leave running nodes unisolated.
	br, err := a.cfg.Nodes.EnsureNetwork(ctx, d.Network)
	if err != nil {
		return err
	}
	s.Bridge = br
	if exists && dom.State == hypervisor.Running {
		hctx, cancel := context.WithTimeout(ctx, a.cfg.ReadyTimeout)
		defer cancel()
		if err := a.cfg.Nodes.Handover(hctx, s); err != nil {
			return err
		}
		// A node that runs but whose dockerd does not answer is not
		// "running" for its tenant; say so instead of drifting.
		if err := a.cfg.Nodes.WaitReady(hctx, s); err != nil {
			return err
		}
		if _, ok := a.reported[s.Name]; !ok {
			a.log.Info("adopted running node", "node", s.Name)
		}
		return nil
	}
	if _, ok := a.reported[s.Name]; !ok || !exists {
		a.report(ctx, NodeStatus{Name: s.Name, State: Creating})
	}
	xml, err := a.cfg.Nodes.Prepare(ctx, s, d.TLS)
	if err != nil {
		return err
	}
	if _, err := a.cfg.Hypervisor.Define(ctx, xml); err != nil {
		return fmt.Errorf("node %q: %w", s.Name, err)
	}
	if err := a.cfg.Hypervisor.Start(ctx, s.Name); err != nil {
		return fmt.Errorf("node %q: %w", s.Name, err)
	}
	hctx, cancel := context.WithTimeout(ctx, a.cfg.ReadyTimeout)
	defer cancel()
	if err := a.cfg.Nodes.Handover(hctx, s); err != nil {
		return err
	}
	return a.cfg.Nodes.WaitReady(hctx, s)
}

func (a *Agent) remove(ctx context.Context, name string) error {
	if err := a.cfg.Hypervisor.Undefine(ctx, name); err != nil {
		return fmt.Errorf("node %q: %w", name, err)
	}
	return a.cfg.Nodes.Remove(ctx, name)
}

// report sends a node's state when it changed since the last report.
func (a *Agent) report(ctx context.Context, s NodeStatus) {
	if prev, ok := a.reported[s.Name]; ok && prev == s {
		return
	}
	if err := a.cfg.ControlPlane.ReportNode(ctx, a.cfg.Hostname, s); err != nil {
		a.log.Warn("report node state", "node", s.Name, "state", s.State, "err", err)
		return
	}
	a.log.Info("node state", "node", s.Name, "state", s.State, "reason", s.Reason)
	if s.State == Deleted {
		delete(a.reported, s.Name)
		return
	}
	a.reported[s.Name] = s
}

// notReadyAgain counts one more pass in a row in which the node's dockerd
// did not answer, and returns the count.
func (a *Agent) notReadyAgain(name string) int {
	a.notReady[name]++
	return a.notReady[name]
}
