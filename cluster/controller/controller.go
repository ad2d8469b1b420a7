package controller

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"sync"
	"time"

	"github.com/vela-appliance/vela/cluster/autoscale"
	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/swarm"
)

// Proposer commits a command through Raft (store.Store).
type Proposer interface {
	Apply(ctx context.Context, cmd []byte) (fsm.Result, error)
}

// StateReader reads the replicated state (fsm.FSM).
type StateReader interface {
	View(fn func(*fsm.State))
}

// Engine is what the controller needs of a node's Docker engine.
type Engine interface {
	swarm.Engine
	SetAvailability(ctx context.Context, nodeID, availability string) error
	SetRole(ctx context.Context, nodeID, role string) error
	SetLabels(ctx context.Context, nodeID string, labels map[string]string) error
	Tasks(ctx context.Context) ([]swarm.Task, error)
	ContainerLimits(ctx context.Context) ([]swarm.Limits, error)
}

// EngineFunc returns the engine of a node of a cluster.
type EngineFunc func(c fsm.Cluster, n fsm.Node) (Engine, error)

// Config configures a Controller.
type Config struct {
	Proposer Proposer
	State    StateReader
	// Pool is the IPv4 prefix tenant subnets are cut from (DefaultPool).
	Pool string
	// Interval between passes when nothing wakes the controller (2 s).
	Interval time.Duration
	// Engines reaches nodes (default: HTTPS on ADDRESS:2376 with a client
	// certificate of the cluster's CA).
	Engines EngineFunc
	// EngineTimeout bounds each Engine call of the default Engines (20 s).
	EngineTimeout time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
	// Actor is stamped on commands (default "controller").
	Actor string
	// HeartbeatInterval of the agents (fsm.DefaultHeartbeatInterval): a
	// hypervisor silent for fsm.UnreachableAfter of them gets no new nodes.
	HeartbeatInterval time.Duration
	// AutoscaleInterval between two evaluations of an autoscaled cluster
	// (autoscale.DefaultInterval, 10 s).
	AutoscaleInterval time.Duration
}

// Controller reconciles tenant clusters. Run it on the leader only.
type Controller struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	mu      sync.Mutex
	engines map[string]Engine // node name + CA fingerprint
	// strikes counts consecutive passes that failed to talk to a cluster's
	// engines, and since when; kept in memory (a new leader starts from
	// zero).
	strikes map[string]strike
	// relabel holds, per cluster being rebuilt, the Swarm labels of the
	// nodes that leave and join again (by address), to put back on their
	// new Swarm node entries (pass goroutine only).
	relabel map[string]map[string]map[string]string
	// pending is when each node was first seen pending in a Swarm join
	// (pass goroutine only).
	pending map[string]time.Time
	// evaluated is when each autoscaled cluster was last measured.
	evaluated map[string]time.Time
}

// A failure to reach or form a swarm shows as error once it happened in
// maxStrikes passes in a row over at least softGrace: a swarm that lost a
// manager answers no manager call while it elects a new leader (10-20 s
// under load), and a burst of passes must not call that an error.
const (
	maxStrikes = 3
	softGrace  = time.Minute
)

// strike is a cluster's run of failed passes.
type strike struct {
	n     int
	since time.Time
}

// New checks cfg and fills defaults.
func New(cfg Config) (*Controller, error) {
	if cfg.Proposer == nil || cfg.State == nil {
		return nil, errors.New("controller: Proposer and State are required")
	}
	if cfg.Pool == "" {
		cfg.Pool = DefaultPool
	}
	if _, err := newAllocator(cfg.Pool, nil, nil); err != nil {
		return nil, err
	}
	if cfg.Interval == 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.EngineTimeout == 0 {
		cfg.EngineTimeout = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = fsm.DefaultHeartbeatInterval
	}
	if cfg.AutoscaleInterval == 0 {
		cfg.AutoscaleInterval = autoscale.DefaultInterval
	}
	if cfg.Actor == "" {
		cfg.Actor = "controller"
	}
	c := &Controller{cfg: cfg, log: cfg.Logger.With("component", "controller"), wake: make(chan struct{}, 1), engines: map[string]Engine{}, strikes: map[string]strike{}, relabel: map[string]map[string]map[string]string{}, pending: map[string]time.Time{}, evaluated: map[string]time.Time{}}
	if c.cfg.Engines == nil {
		c.cfg.Engines = c.tlsEngine
	}
	return c, nil
}

// Notify wakes the controller for a pass (call it from the FSM's OnApply);
// it never blocks.
func (c *Controller) Notify(uint64) {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run reconciles until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.log.Info("controller started")
	defer c.log.Info("controller stopped")
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		c.Pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-c.wake:
		}
	}
}

// snapshot is a copy of the parts of the state the controller reads.
type snapshot struct {
	tenants     map[string]fsm.Tenant
	clusters    []fsm.Cluster
	nodes       map[string]fsm.Node
	hypervisors []fsm.Hypervisor
	subnets     []fsm.Subnet
}

func (c *Controller) snapshot() snapshot {
	var s snapshot
	c.cfg.State.View(func(st *fsm.State) {
		s.tenants = maps.Clone(st.Tenants)
		s.clusters = fsm.Sorted(st.Clusters)
		s.nodes = maps.Clone(st.Nodes)
		s.hypervisors = fsm.Sorted(st.Hypervisors)
		s.subnets = fsm.Sorted(st.Subnets)
	})
	return s
}

func (s snapshot) nodesOf(cl fsm.Cluster) []fsm.Node {
	var out []fsm.Node
	for _, n := range s.nodes {
		if n.Tenant == cl.Tenant && n.Cluster == cl.Name {
			out = append(out, n)
		}
	}
	sortNodes(out)
	return out
}

// Pass reconciles every cluster once.
func (c *Controller) Pass(ctx context.Context) {
	snap := c.snapshot()
	snap.subnets = c.gcSubnets(ctx, snap)
	for _, cl := range snap.clusters {
		if ctx.Err() != nil {
			return
		}
		st := c.reconcile(ctx, snap, cl)
		if st != nil {
			c.setStatus(ctx, cl, *st)
		}
	}
	c.forgetGone(snap)
}

// forgetGone drops what passes remember (strikes, autoscale times, labels
// to restore, pending joins) of clusters and nodes that no longer exist,
// so a long-lived leader does not keep them forever.
func (c *Controller) forgetGone(snap snapshot) {
	clusters := map[string]bool{}
	for _, cl := range snap.clusters {
		clusters[cl.Key()] = true
	}
	maps.DeleteFunc(c.strikes, func(k string, _ strike) bool { return !clusters[k] })
	maps.DeleteFunc(c.evaluated, func(k string, _ time.Time) bool { return !clusters[k] })
	maps.DeleteFunc(c.relabel, func(k string, _ map[string]map[string]string) bool { return !clusters[k] })
	maps.DeleteFunc(c.pending, func(k string, _ time.Time) bool { _, ok := snap.nodes[k]; return !ok })
}

// status is what a pass concluded about one cluster.
type status struct {
	State string
	fsm.ClusterStatus
}

// setStatus proposes the status when it differs from the recorded one.
func (c *Controller) setStatus(ctx context.Context, cl fsm.Cluster, st status) {
	old := cl.ClusterStatus
	old.Updated, st.Updated = time.Time{}, time.Time{}
	if cl.State == st.State && fmt.Sprint(old) == fmt.Sprint(st.ClusterStatus) {
		return
	}
	st.Updated = c.cfg.Now().UTC()
	if st.State == fsm.ClusterError {
		c.log.Warn("cluster in error", "cluster", cl.Key(), "reason", st.Reason)
	}
	err := c.propose(ctx, fsm.TypeClusterStatus, fsm.SetClusterStatus{Meta: c.meta(), Key: cl.Key(), Generation: cl.Generation, State: st.State, Status: st.ClusterStatus, SwarmInitWas: cl.SwarmInit})
	if err != nil && !errors.Is(err, fsm.ErrConflict) && !errors.Is(err, fsm.ErrNotFound) {
		c.log.Warn("record cluster status", "cluster", cl.Key(), "err", err)
	}
}

func (c *Controller) meta() fsm.Meta {
	return fsm.Meta{Actor: c.cfg.Actor, Time: c.cfg.Now().UTC()}
}

// propose commits one command; a state refusal comes back as the error.
func (c *Controller) propose(ctx context.Context, t fsm.Type, body any) error {
	cmd, err := fsm.Encode(t, body)
	if err != nil {
		return err
	}
	res, err := c.cfg.Proposer.Apply(ctx, cmd)
	if err != nil {
		return fmt.Errorf("commit command type %d: %w", t, err)
	}
	return res.Err
}

// tlsEngine reaches a node's dockerd on ADDRESS:2376 with a client
// certificate of the cluster's CA (made once per CA and kept in memory).
func (c *Controller) tlsEngine(cl fsm.Cluster, n fsm.Node) (Engine, error) {
	ip, _, err := net.ParseCIDR(n.Address)
	if err != nil {
		return nil, fmt.Errorf("node %s has no address yet", n.Name)
	}
	fp := sha256.Sum256([]byte(cl.CACert))
	key := fmt.Sprintf("%s@%s#%x", n.Name, ip, fp[:8])
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.engines[key]; ok {
		return e, nil
	}
	ca, err := credentials.ParseCA(cl.CACert, cl.CAKey)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cl.Key(), err)
	}
	certPEM, keyPEM, err := ca.Client("vela-controller", c.cfg.Now())
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM())
	e := swarm.NewHTTPEngine("https://"+net.JoinHostPort(ip.String(), credentials.DockerPort),
		&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, c.cfg.EngineTimeout)
	c.engines[key] = e
	return e, nil
}

// forget drops cached engines of a node (after it is deleted).
func (c *Controller) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.engines {
		if len(k) > len(name) && k[:len(name)+1] == name+"@" {
			if h, ok := e.(interface{ Close() }); ok {
				h.Close()
			}
			delete(c.engines, k)
		}
	}
}
