package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
)

// HealthWait is how long the health step lets the appliance settle (a
// member slow to answer, a node not ready yet after the cluster went
// active) before it fails with what is still wrong.
const HealthWait = 3 * time.Minute

// health checks the whole appliance once more: every member is a voter and
// one leads, every hypervisor is ready, the first cluster is active and
// healthy; then it says how to use it. What is wrong is re-checked every
// few seconds, up to HealthWait, and shown when it changes.
func (e *Env) health(ctx context.Context, _ plan.Step, r run.Reporter) error {
	deadline := time.Now().Add(HealthWait)
	last := ""
	for {
		err := e.healthOnce(ctx, r)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		if msg := err.Error(); msg != last {
			r.Logf("not healthy yet (checking again for up to %s): %s", time.Until(deadline).Round(time.Second), msg)
			last = msg
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}

// healthOnce is one check of the whole appliance.
func (e *Env) healthOnce(ctx context.Context, r run.Reporter) error {
	c, err := e.apiClient()
	if err != nil {
		return run.Failf("run again with --reset to make new secrets", "%v", err)
	}
	ms, err := c.Members(ctx)
	if err != nil {
		return run.Failf(e.memberHint(e.Config.Members()[0].Name), "the control plane does not answer: %v", err)
	}
	var problems []string
	leader := ""
	for _, m := range ms {
		if m.Leader {
			leader = m.ID
		}
		if m.Error != "" {
			problems = append(problems, fmt.Sprintf("member %s: %s", m.ID, m.Error))
		}
	}
	if leader == "" {
		problems = append(problems, "no member leads")
	}
	hvs, err := c.Hypervisors(ctx)
	if err != nil {
		return run.Failf("check the control plane (vela members ls), then run again", "listing hypervisors: %v", err)
	}
	ready := 0
	for _, h := range hvs {
		if h.Unreachable || h.State != fsm.HypervisorReady {
			problems = append(problems, fmt.Sprintf("hypervisor %s is %s", h.Name, describeHypervisor(h, nil)))
			continue
		}
		ready++
	}
	clusterLine := ""
	if t := e.Config.Tenant; t.Name != "" && t.Cluster != nil {
		tc, err := e.tenantClient()
		if err != nil {
			return run.Failf("run the tenant step again", "%v", err)
		}
		cl, err := tc.GetCluster(ctx, t.Name, t.Cluster.Name)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("cluster %s/%s: %v", t.Name, t.Cluster.Name, err))
		case cl.State != fsm.ClusterActive || cl.Health == fsm.HealthDegraded:
			problems = append(problems, fmt.Sprintf("cluster %s/%s is %s", t.Name, t.Cluster.Name, describeCluster(cl)))
		default:
			clusterLine = fmt.Sprintf(", cluster %s/%s %s with %d node(s)", t.Name, t.Cluster.Name, describeCluster(cl), cl.Nodes)
		}
	}
	if len(problems) > 0 {
		return run.Failf("see the commands named above (vela members ls, vela hypervisors ls, vela cluster get), fix the cause, then run again",
			"the appliance is not healthy: %s", strings.Join(problems, "; "))
	}
	r.Logf("healthy: %d members (leader %s), %d hypervisors ready%s", len(ms), leader, ready, clusterLine)
	if t := e.Config.Tenant; t.Name != "" && t.Cluster != nil {
		r.Logf("use the cluster from this host:  eval \"$(VELA_CONFIG=%s vela env %s)\"  then  docker info", e.TenantContextPath(), t.Cluster.Name)
	}
	return nil
}
