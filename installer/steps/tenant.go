package steps

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/installer/lab"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
)

// ClusterTimeout bounds the wait for the first cluster to become active:
// its nodes start on the hypervisors and form a Swarm.
const ClusterTimeout = 15 * time.Minute

// ClusterErrorGrace is how long the first cluster may stay in error before
// the step fails: the controller retries what is transient (a node that
// was slow to start), and the cluster often recovers on its own.
const ClusterErrorGrace = 3 * time.Minute

// tenantDir holds what the installer made for the first tenant: its API
// token and a vela context that acts as the tenant.
func (e *Env) tenantDir() string { return filepath.Join(e.StateDir, "tenants", e.Config.Tenant.Name) }

// TenantContextPath is the vela context of the first tenant
// (VELA_CONFIG=... vela cluster ls acts as the tenant).
func (e *Env) TenantContextPath() string { return filepath.Join(e.tenantDir(), "config.json") }

// tenant creates the first tenant (default quotas) and an API token for it,
// once: a rerun keeps the token made before.
func (e *Env) tenant(ctx context.Context, _ plan.Step, r run.Reporter) error {
	c, err := e.apiClient()
	if err != nil {
		return run.Failf("run again with --reset to make new secrets", "%v", err)
	}
	name := e.Config.Tenant.Name
	if _, err := c.Tenant(ctx, name); client.StatusOf(err) == 404 {
		if _, err := c.PutTenant(ctx, name, fsm.Quota{}); err != nil {
			return run.Failf("check the control plane (vela members ls), then run again", "creating tenant %q: %v", name, err)
		}
		r.Logf("tenant %q created with the default quotas (%d clusters, %d nodes each)", name, fsm.DefaultMaxClusters, fsm.DefaultMaxNodesPerCluster)
	} else if err != nil {
		return run.Failf("check the control plane (vela members ls), then run again", "reading tenant %q: %v", name, err)
	}
	tokFile := filepath.Join(e.tenantDir(), "token")
	if !e.tokenWorks(ctx, tokFile, name) {
		tok, err := c.CreateToken(ctx, api.APITokenRequest{Name: "installer", Scope: fsm.ScopeTenant, Tenant: name})
		if err != nil {
			return run.Failf("check the control plane (vela members ls), then run again", "creating an API token for tenant %q: %v", name, err)
		}
		if err := os.MkdirAll(e.tenantDir(), 0o700); err != nil {
			return err
		}
		if err := run.WriteFileAtomic(tokFile, []byte(tok.Token+"\n"), 0o600); err != nil {
			return err
		}
	}
	url, err := e.APIURL()
	if err != nil {
		return err
	}
	cx := client.Context{Server: url, CAFile: filepath.Join(e.secretsDir(), "ca.pem"), TokenFile: tokFile}
	if err := client.WriteContext(e.TenantContextPath(), cx); err != nil {
		return err
	}
	r.Logf("tenant %q: its API token is in %s; act as the tenant with VELA_CONFIG=%s", name, tokFile, e.TenantContextPath())
	return nil
}

// tokenWorks tells whether the token file holds a token of this tenant
// that the control plane knows (a file left by an earlier cluster does not).
func (e *Env) tokenWorks(ctx context.Context, path, tenant string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	url, err := e.APIURL()
	if err != nil {
		return false
	}
	ca, err := os.ReadFile(filepath.Join(e.secretsDir(), "ca.pem"))
	if err != nil {
		return false
	}
	c, err := client.New(client.Config{Server: url, CAPEM: ca, Token: strings.TrimSpace(string(b)), Timeout: 10 * time.Second, Retry: 10 * time.Second})
	if err != nil {
		return false
	}
	// whoami answers from the member asked: right after the token was
	// made it may not have replicated there yet, so a 401 is asked again.
	for i := 0; ; i++ {
		who, err := c.Whoami(ctx)
		if err == nil {
			return who.Kind == fsm.ScopeTenant && who.Tenant == tenant
		}
		if client.StatusOf(err) != 401 || i == 4 {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
}

// tenantClient calls the API as the first tenant.
func (e *Env) tenantClient() (*client.Client, error) {
	cx, ok, err := client.LoadContext(e.TenantContextPath())
	if err != nil || !ok {
		return nil, fmt.Errorf("the tenant's context %s is missing (%v); run the tenant step again", e.TenantContextPath(), err)
	}
	ca, err := os.ReadFile(cx.CAFile)
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(cx.TokenFile)
	if err != nil {
		return nil, err
	}
	return client.New(client.Config{Server: cx.Server, CAPEM: ca, Token: strings.TrimSpace(string(tok)), Timeout: 15 * time.Second, Retry: 10 * time.Second})
}

// tenantCluster creates the first cluster as the tenant would, and waits
// until the controller reports it active (its Swarm formed).
func (e *Env) tenantCluster(ctx context.Context, _ plan.Step, r run.Reporter) error {
	c, err := e.tenantClient()
	if err != nil {
		return run.Failf("run again", "%v", err)
	}
	tn, tc := e.Config.Tenant.Name, e.Config.Tenant.Cluster
	cl, err := c.GetCluster(ctx, tn, tc.Name)
	if client.StatusOf(err) == 404 {
		cl, err = c.CreateCluster(ctx, tn, tc.Name, tc.Nodes, false)
		if err == nil {
			r.Logf("cluster %s/%s of %d node(s) created", tn, tc.Name, tc.Nodes)
		}
	}
	if err != nil {
		return run.Failf("check the control plane and the hypervisors (vela hypervisors ls), then run again", "cluster %s/%s: %v", tn, tc.Name, err)
	}
	deadline := time.Now().Add(ClusterTimeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var last string
	var errorSince time.Time
	for {
		seen := describeCluster(cl)
		if seen != last {
			r.Logf("cluster %s/%s: %s", tn, tc.Name, seen)
			last = seen
			if nodes, err := c.ClusterNodes(ctx, tn, tc.Name); err == nil {
				for _, n := range nodes {
					r.Machine(n.Name, nodeState(n), n.Reason)
				}
			}
		}
		switch cl.State {
		case fsm.ClusterActive:
			return e.routeToNodes(ctx, r, c)
		case fsm.ClusterError:
			if errorSince.IsZero() {
				errorSince = time.Now()
			}
			if time.Since(errorSince) > ClusterErrorGrace {
				return run.Failf(orDefault(cl.NextStep, "see `vela cluster get "+tc.Name+"`, fix the cause, then run again"),
					"cluster %s/%s failed (in error for %s): %s", tn, tc.Name, ClusterErrorGrace, cl.Reason)
			}
		default:
			errorSince = time.Time{}
		}
		if time.Now().After(deadline) {
			return run.Failf("see `vela cluster get "+tc.Name+"` and `vela hypervisors ls`, then run again",
				"cluster %s/%s did not become active within %s: %s", tn, tc.Name, ClusterTimeout, seen)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		got, err := c.GetCluster(cctx, tn, tc.Name)
		cancel()
		if err == nil {
			cl = got
		}
	}
}

func describeCluster(cl fsm.Cluster) string {
	s := cl.State
	if s == "" {
		s = fsm.ClusterNew
	}
	if cl.Reason != "" {
		s += " (" + cl.Reason + ")"
	}
	if cl.Health != "" {
		s += ", health " + cl.Health
	}
	return s
}

func nodeState(n fsm.Node) string {
	if n.State == "" {
		return "placed on " + n.Hypervisor
	}
	return n.State
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// routeToNodes makes the nodes' Docker endpoints reachable from this host:
// in a lab, a route per tenant subnet through its hypervisor VM on the lab
// bridge; on a rack it says which routes the operator's network needs.
func (e *Env) routeToNodes(ctx context.Context, r run.Reporter, tc *client.Client) error {
	nodes, err := tc.ClusterNodes(ctx, e.Config.Tenant.Name, e.Config.Tenant.Cluster.Name)
	if err != nil {
		return err
	}
	admin, err := e.apiClient()
	if err != nil {
		return err
	}
	hvs, err := admin.Hypervisors(ctx)
	if err != nil {
		return err
	}
	addr := map[string]string{}
	for _, h := range hvs {
		addr[h.Name] = h.Address
	}
	done := map[netip.Prefix]bool{}
	for _, n := range nodes {
		p, err := netip.ParsePrefix(n.Address)
		if err != nil || done[p.Masked()] {
			continue
		}
		via, err := netip.ParseAddr(addr[n.Hypervisor])
		if err != nil {
			return fmt.Errorf("node %s: hypervisor %s has no address (%q)", n.Name, n.Hypervisor, addr[n.Hypervisor])
		}
		done[p.Masked()] = true
		if e.Config.Lab == nil {
			r.Logf("to reach the nodes from outside the rack: route %s via %s (hypervisor %s)", p.Masked(), via, n.Hypervisor)
			continue
		}
		l, err := lab.Open(e.StateDir)
		if err != nil {
			return err
		}
		if err := l.Route(ctx, e.Config, p.Masked(), via); err != nil {
			return err
		}
		r.Logf("this host reaches %s through %s (%s)", p.Masked(), n.Hypervisor, via)
	}
	return nil
}
