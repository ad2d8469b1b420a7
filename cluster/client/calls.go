package client

import (
	"context"
	"fmt"
	"net/url"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// Cluster returns the cluster's identity (no authentication needed).
func (c *Client) Cluster(ctx context.Context) (api.ClusterInfo, error) {
	var out api.ClusterInfo
	return out, c.Do(ctx, "GET", "/v1/cluster", nil, &out)
}

// Members lists the members with their Raft status.
func (c *Client) Members(ctx context.Context) ([]api.MemberStatus, error) {
	var out []api.MemberStatus
	return out, c.Do(ctx, "GET", "/v1/members", nil, &out)
}

// RemoveMember removes a member from Raft.
func (c *Client) RemoveMember(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", "/v1/members/"+url.PathEscape(id), nil, nil)
}

// JoinToken issues a join token for role (member or agent) valid for ttl.
func (c *Client) JoinToken(ctx context.Context, role, ttl string) (api.TokenResponse, error) {
	var out api.TokenResponse
	return out, c.Do(ctx, "POST", "/v1/members/tokens", api.TokenRequest{Role: role, TTL: ttl}, &out)
}

// Join uses a join token to get a certificate.
func (c *Client) Join(ctx context.Context, req api.JoinRequest) (api.JoinResponse, error) {
	var out api.JoinResponse
	return out, c.Do(ctx, "POST", "/v1/join", req, &out)
}

// AddSelf asks the leader to add the calling member (its certificate) to Raft.
func (c *Client) AddSelf(ctx context.Context, raftAddr, apiAddr string) (api.MemberStatus, error) {
	var out api.MemberStatus
	return out, c.Do(ctx, "POST", "/v1/members", api.AddMemberRequest{RaftAddr: raftAddr, APIAddr: apiAddr}, &out)
}

// Events returns up to limit events after index after.
func (c *Client) Events(ctx context.Context, after uint64, limit int) ([]fsm.Event, error) {
	var out []fsm.Event
	return out, c.Do(ctx, "GET", fmt.Sprintf("/v1/events?after=%d&limit=%d", after, limit), nil, &out)
}

// PutMachine creates or replaces a machine.
func (c *Client) PutMachine(ctx context.Context, m fsm.Machine) (fsm.Machine, error) {
	var out fsm.Machine
	return out, c.Do(ctx, "PUT", "/v1/machines/"+url.PathEscape(m.Name), m, &out)
}

// GetMachine reads a machine; stale reads answer from the member's own state.
func (c *Client) GetMachine(ctx context.Context, name string, stale bool) (fsm.Machine, error) {
	var out fsm.Machine
	p := "/v1/machines/" + url.PathEscape(name)
	if stale {
		p += "?stale=true"
	}
	return out, c.Do(ctx, "GET", p, nil, &out)
}
