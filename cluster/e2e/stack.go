package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/agent"
	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/node"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/member"
)

// Config configures a Stack.
type Config struct {
	// Dir holds the member's and the agent's data; the stack makes it
	// traversable (0711) as node roots live under it. Keep it short.
	Dir string
	// Socket is the libvirtd socket (see hvtest.StartDaemon).
	Socket string
	// Image is the node image root filesystem (see hvtest.BuildNodeImage).
	Image string
	// Vela is the vela binary nodes run `vela agent authz` from.
	Vela string
	// Pool is the prefix tenant subnets are cut from (e.g. 10.238.0.0/16);
	// pick one no other test uses.
	Pool string
	// Hostname is the hypervisor's name (default hv-e2e).
	Hostname string
	// CPUs is the vCPU count the hypervisor registers with (default 64):
	// a node takes 2 vCPUs, a small CI machine has 2 cores, and vCPUs are
	// shares, not reservations. Disk is registered as 1 TB for the same
	// reason (node disks are sparse files).
	CPUs int
	// Interval is the agents' heartbeat and reconcile interval (default
	// 300 ms).
	Interval time.Duration
	Logger   *slog.Logger
}

// Stack is a running member and agent.
type Stack struct {
	// Server is the member's API, 127.0.0.1:PORT.
	Server string
	// CAFile is the cluster CA certificate; AdminToken an admin API token.
	CAFile     string
	CAPEM      []byte
	AdminToken string
	Admin      *client.Client
	// HV is a libvirt connection of the stack's own, for checks.
	HV    *hypervisor.Client
	Nodes *node.Manager

	cfg       Config
	stopAgent func()
	stopMem   func()
	agentCl   *client.Client
}

// Start starts the member (bootstrapping Raft), joins the agent with a
// join token and waits until the hypervisor is ready. On error, what was
// started is stopped.
func Start(ctx context.Context, cfg Config) (s *Stack, err error) {
	if cfg.Hostname == "" {
		cfg.Hostname = "hv-e2e"
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 64
	}
	if cfg.Interval == 0 {
		cfg.Interval = 300 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o711); err != nil {
		return nil, err
	}
	if err := os.Chmod(cfg.Dir, 0o711); err != nil {
		return nil, err
	}
	s = &Stack{cfg: cfg}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	if err := s.startMember(ctx); err != nil {
		return s, err
	}
	if err := s.startAgent(ctx); err != nil {
		return s, err
	}
	return s, s.waitReady(ctx)
}

func (s *Stack) startMember(ctx context.Context) error {
	mdir := filepath.Join(s.cfg.Dir, "member")
	server, raftAddr := freeAddr(), freeAddr()
	if server == "" || raftAddr == "" {
		return errors.New("no free loopback port for the member")
	}
	ready := make(chan struct{})
	m, err := member.New(member.Config{DataDir: mdir, ID: "m1", RaftAddr: raftAddr, APIAddr: server, Bootstrap: true,
		HeartbeatInterval: s.cfg.Interval, NodePool: s.cfg.Pool, Ready: ready, Logger: s.cfg.Logger.With("part", "member")})
	if err != nil {
		return err
	}
	mctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(mctx) }()
	s.stopMem = func() { cancel(); <-done }
	select {
	case <-ready:
	case err := <-done:
		s.stopMem = nil
		return fmt.Errorf("member: %w", err)
	case <-time.After(60 * time.Second):
		return errors.New("member not serving its API after 60 s")
	case <-ctx.Done():
		return ctx.Err()
	}
	s.Server = server
	s.CAFile = filepath.Join(mdir, "pki", "ca.pem")
	if s.CAPEM, err = os.ReadFile(s.CAFile); err != nil {
		return err
	}
	tok, err := os.ReadFile(filepath.Join(mdir, "admin-token"))
	if err != nil {
		return err
	}
	s.AdminToken = string(bytes.TrimSpace(tok))
	s.Admin, err = client.New(client.Config{Server: server, CAPEM: s.CAPEM, Token: s.AdminToken, Retry: 10 * time.Second})
	return err
}

// bigHypervisor registers more vCPUs and disk than the host has (see
// Config.CPUs).
type bigHypervisor struct {
	agent.ControlPlane
	cpus int
}

func (b bigHypervisor) Register(ctx context.Context, r agent.Registration) error {
	r.CPUs, r.DiskBytes = b.cpus, 1e12
	return b.ControlPlane.Register(ctx, r)
}

func (s *Stack) startAgent(ctx context.Context) error {
	jt, err := s.Admin.JoinToken(ctx, fsm.JoinAgent, "10m")
	if err != nil {
		return err
	}
	data := filepath.Join(s.cfg.Dir, "agent")
	if err := os.MkdirAll(data, 0o711); err != nil {
		return err
	}
	tokenFile := filepath.Join(s.cfg.Dir, "join-token")
	if err := os.WriteFile(tokenFile, []byte(jt.Token+"\n"), 0o600); err != nil {
		return err
	}
	cert, err := agent.Credentials(ctx, agent.JoinConfig{Server: s.Server, CAPEM: s.CAPEM, TokenFile: tokenFile, DataDir: data, Name: s.cfg.Hostname, Address: "127.0.0.1"})
	if err != nil {
		return err
	}
	s.agentCl, err = client.New(client.Config{Server: s.Server, CAPEM: s.CAPEM, Cert: &cert, Retry: 10 * time.Second})
	if err != nil {
		return err
	}
	state := filepath.Join(data, "nodes")
	log := s.cfg.Logger.With("part", "agent")
	if s.Nodes, err = node.New(node.Config{StateDir: state, Image: s.cfg.Image, AuthzBinary: s.cfg.Vela, Logger: log}); err != nil {
		return err
	}
	s.HV = hypervisor.New(hypervisor.Config{Socket: s.cfg.Socket, Logger: log})
	agentHV := hypervisor.New(hypervisor.Config{Socket: s.cfg.Socket, Logger: log})
	cp := bigHypervisor{ControlPlane: &agent.APIControlPlane{Client: s.agentCl, Address: "127.0.0.1", Logger: log}, cpus: s.cfg.CPUs}
	ag, err := agent.New(agent.Config{Hostname: s.cfg.Hostname, ControlPlane: cp, Hypervisor: agentHV, Nodes: s.Nodes,
		StateDir: state, Interval: s.cfg.Interval, Logger: log})
	if err != nil {
		agentHV.Close()
		return err
	}
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(actx, nil) }()
	s.stopAgent = func() { cancel(); <-done; agentHV.Close() }
	return nil
}

func (s *Stack) waitReady(ctx context.Context) error {
	return Poll(ctx, 30*time.Second, "hypervisor "+s.cfg.Hostname+" ready", func() (bool, string) {
		h, err := s.Admin.Hypervisor(ctx, s.cfg.Hostname)
		return err == nil && h.State == fsm.HypervisorReady, fmt.Sprintf("%+v %v", h, err)
	})
}

// Domains lists the libvirt domains on the stack's libvirtd.
func (s *Stack) Domains(ctx context.Context) ([]string, error) {
	ds, err := s.HV.List(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return names, nil
}

// Close stops the agent and the member, then removes whatever nodes,
// tenant bridges, rules and routes are left on the host. It returns the
// first cleanup error (everything is attempted).
func (s *Stack) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	nets := map[string]node.TenantNet{}
	if s.Admin != nil {
		var ns []fsm.Node
		if err := s.Admin.Do(ctx, "GET", "/v1/nodes", nil, &ns); err == nil {
			for _, n := range ns {
				if tn, ok := tenantNet(n); ok {
					nets[n.Tenant] = tn
				}
			}
		}
	}
	if s.stopAgent != nil {
		s.stopAgent()
	}
	if s.HV != nil {
		if names, err := s.Domains(ctx); err == nil {
			for _, n := range names {
				errs = append(errs, s.HV.Undefine(ctx, n))
			}
		} else {
			errs = append(errs, err)
		}
		s.HV.Close()
	}
	if s.Nodes != nil {
		names, _ := s.Nodes.Nodes()
		for _, n := range names {
			errs = append(errs, s.Nodes.Remove(ctx, n))
		}
	}
	for _, tn := range s.seenNets(nets) {
		errs = append(errs, node.RemoveNetwork(ctx, tn))
	}
	errs = append(errs, node.RemoveRoutes(ctx))
	if s.Admin != nil {
		s.Admin.Close()
	}
	if s.agentCl != nil {
		s.agentCl.Close()
	}
	if s.stopMem != nil {
		s.stopMem()
	}
	return errors.Join(errs...)
}

// seenNets adds to nets the tenant bridges still on the host whose subnet
// the node records no longer tell (a cluster removed before Close): their
// gateway is read from the bridge itself.
func (s *Stack) seenNets(nets map[string]node.TenantNet) []node.TenantNet {
	for _, t := range s.tenants() {
		if _, ok := nets[t]; ok {
			continue
		}
		br, err := net.InterfaceByName(node.BridgeName(t))
		if err != nil {
			continue
		}
		addrs, _ := br.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
				nets[t] = node.TenantNet{Tenant: t, Gateway: p}
			}
		}
	}
	out := make([]node.TenantNet, 0, len(nets))
	for _, tn := range nets {
		out = append(out, tn)
	}
	return out
}

// tenants lists the tenants the control plane knows ("" on error).
func (s *Stack) tenants() []string {
	if s.Admin == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts, err := s.Admin.Tenants(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

// tenantNet is the tenant network a node record lives on.
func tenantNet(n fsm.Node) (node.TenantNet, bool) {
	addr, err := netip.ParsePrefix(n.Address)
	gw, err2 := netip.ParseAddr(strings.TrimSpace(n.Gateway))
	if err != nil || err2 != nil {
		return node.TenantNet{}, false
	}
	return node.TenantNet{Tenant: n.Tenant, Gateway: netip.PrefixFrom(gw, addr.Bits())}, true
}

// Poll calls cond every 100 ms until it holds, d passes or ctx ends; the
// error names what was awaited and the last thing cond said.
func Poll(ctx context.Context, d time.Duration, what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s; last: %s", d, what, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w; last: %s", what, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ""
	}
	defer l.Close()
	return l.Addr().String()
}
