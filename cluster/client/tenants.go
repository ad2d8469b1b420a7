package client

import (
	"context"
	"net/url"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// PutTenant creates (or replaces) a tenant with its quota (zero fields:
// defaults).
func (c *Client) PutTenant(ctx context.Context, name string, q fsm.Quota) (fsm.Tenant, error) {
	var out fsm.Tenant
	return out, c.Do(ctx, "PUT", "/v1/tenants/"+url.PathEscape(name), fsm.Tenant{Quota: q}, &out)
}

// Tenants lists the tenants.
func (c *Client) Tenants(ctx context.Context) ([]fsm.Tenant, error) {
	var out []fsm.Tenant
	return out, c.Do(ctx, "GET", "/v1/tenants", nil, &out)
}

// Tenant reads one tenant.
func (c *Client) Tenant(ctx context.Context, name string) (fsm.Tenant, error) {
	var out fsm.Tenant
	return out, c.Do(ctx, "GET", "/v1/tenants/"+url.PathEscape(name), nil, &out)
}

// DeleteTenant removes a tenant that owns no clusters (its tokens go too).
func (c *Client) DeleteTenant(ctx context.Context, name string) error {
	return c.Do(ctx, "DELETE", "/v1/tenants/"+url.PathEscape(name), nil, nil)
}

// Quota reads a tenant's quota and usage.
func (c *Client) Quota(ctx context.Context, tenant string) (api.QuotaStatus, error) {
	var out api.QuotaStatus
	return out, c.Do(ctx, "GET", "/v1/tenants/"+url.PathEscape(tenant)+"/quota", nil, &out)
}

// SetQuota sets a tenant's quota.
func (c *Client) SetQuota(ctx context.Context, tenant string, q fsm.Quota) (api.QuotaStatus, error) {
	var out api.QuotaStatus
	return out, c.Do(ctx, "PUT", "/v1/tenants/"+url.PathEscape(tenant)+"/quota", q, &out)
}

// CreateToken creates an API token; the secret is in the answer only.
func (c *Client) CreateToken(ctx context.Context, req api.APITokenRequest) (api.TokenResponse, error) {
	var out api.TokenResponse
	return out, c.Do(ctx, "POST", "/v1/tokens", req, &out)
}

// Tokens lists API tokens (no secrets, no hashes).
func (c *Client) Tokens(ctx context.Context) ([]fsm.APIToken, error) {
	var out []fsm.APIToken
	return out, c.Do(ctx, "GET", "/v1/tokens", nil, &out)
}

// DeleteToken revokes an API token.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", "/v1/tokens/"+url.PathEscape(id), nil, nil)
}

// Whoami tells who the API takes the caller for.
func (c *Client) Whoami(ctx context.Context) (api.Whoami, error) {
	var out api.Whoami
	return out, c.Do(ctx, "GET", "/v1/whoami", nil, &out)
}
