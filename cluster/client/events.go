package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// EventQuery selects a cluster's events: up to Limit (default 100) after
// the index After, or the Last ones; Action ("autoscale") keeps one action.
type EventQuery struct {
	After  uint64
	Limit  int
	Last   int
	Action string
}

// ClusterEvents reads one cluster's events, oldest first: its own and its
// nodes' changes and the autoscaler's verdicts. tenant "" means the token's
// own tenant (an admin must name one).
func (c *Client) ClusterEvents(ctx context.Context, tenant, name string, eq EventQuery) ([]fsm.Event, error) {
	q := url.Values{}
	q.Set("after", strconv.FormatUint(eq.After, 10))
	if eq.Limit > 0 {
		q.Set("limit", strconv.Itoa(eq.Limit))
	}
	if eq.Last > 0 {
		q.Set("last", strconv.Itoa(eq.Last))
	}
	if eq.Action != "" {
		q.Set("action", eq.Action)
	}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	var out []fsm.Event
	return out, c.Do(ctx, "GET", "/v1/clusters/"+url.PathEscape(name)+"/events?"+q.Encode(), nil, &out)
}
