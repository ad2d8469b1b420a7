package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
)

func clusterPath(tenant, name string) string {
	p := "/v1/tenants/" + url.PathEscape(tenant) + "/clusters"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// CreateCluster creates a cluster of n nodes.
func (c *Client) CreateCluster(ctx context.Context, tenant, name string, n int, autoscale bool) (fsm.Cluster, error) {
	var out fsm.Cluster
	return out, c.Do(ctx, "PUT", clusterPath(tenant, name), api.ClusterRequest{Nodes: n, Autoscale: autoscale}, &out)
}

// Clusters lists a tenant's clusters; tenant "" lists every cluster the
// caller may see.
func (c *Client) Clusters(ctx context.Context, tenant string) ([]fsm.Cluster, error) {
	var out []fsm.Cluster
	p := "/v1/clusters"
	if tenant != "" {
		p = clusterPath(tenant, "")
	}
	return out, c.Do(ctx, "GET", p, nil, &out)
}

// GetCluster reads one cluster.
func (c *Client) GetCluster(ctx context.Context, tenant, name string) (fsm.Cluster, error) {
	var out fsm.Cluster
	return out, c.Do(ctx, "GET", clusterPath(tenant, name), nil, &out)
}

// ClusterNodes lists a cluster's nodes.
func (c *Client) ClusterNodes(ctx context.Context, tenant, name string) ([]fsm.Node, error) {
	var out []fsm.Node
	return out, c.Do(ctx, "GET", clusterPath(tenant, name)+"/nodes", nil, &out)
}

// GrowCluster adds n nodes.
func (c *Client) GrowCluster(ctx context.Context, tenant, name string, n int) (fsm.Cluster, error) {
	var out fsm.Cluster
	return out, c.Do(ctx, "POST", clusterPath(tenant, name)+"/grow", api.GrowRequest{Nodes: n}, &out)
}

// ResizeCluster sets the node count, removing the named nodes.
func (c *Client) ResizeCluster(ctx context.Context, tenant, name string, n int, remove []string) (fsm.Cluster, error) {
	var out fsm.Cluster
	return out, c.Do(ctx, "POST", clusterPath(tenant, name)+"/resize", api.ResizeRequest{Nodes: n, Remove: remove}, &out)
}

// RebuildCluster recreates the Swarm control layer from the nodes.
func (c *Client) RebuildCluster(ctx context.Context, tenant, name string) (fsm.Cluster, error) {
	var out fsm.Cluster
	return out, c.Do(ctx, "POST", clusterPath(tenant, name)+"/rebuild", nil, &out)
}

// DeleteCluster asks for the cluster's removal.
func (c *Client) DeleteCluster(ctx context.Context, tenant, name string) (fsm.Cluster, error) {
	var out fsm.Cluster
	return out, c.Do(ctx, "DELETE", clusterPath(tenant, name), nil, &out)
}

// SignCredentials gets a client certificate for the key of csrPEM.
func (c *Client) SignCredentials(ctx context.Context, tenant, name string, csrPEM []byte) (api.Credentials, error) {
	var out api.Credentials
	return out, c.Do(ctx, "POST", clusterPath(tenant, name)+"/credentials", api.CredentialsRequest{CSR: string(csrPEM)}, &out)
}

// CredentialsZip downloads the zip bundle (its key was made by the server).
func (c *Client) CredentialsZip(ctx context.Context, tenant, name string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+clusterPath(tenant, name)+"/credentials", nil)
	if err != nil {
		return nil, err
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodeError(resp, b)
	}
	return b, nil
}

// Autoscale turns a cluster's autoscaler on or off.
func (c *Client) Autoscale(ctx context.Context, tenant, name string, req api.AutoscaleRequest) (fsm.Cluster, error) {
	var out fsm.Cluster
	return out, c.Do(ctx, "POST", clusterPath(tenant, name)+"/autoscale", req, &out)
}
