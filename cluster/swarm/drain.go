package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// SetAvailability sets a swarm node's availability (active, pause or
// drain: its tasks move elsewhere). Managers only.
func (e *HTTPEngine) SetAvailability(ctx context.Context, nodeID, availability string) error {
	return e.updateNodeSpec(ctx, nodeID, "Availability", availability)
}

// SetRole promotes (manager) or demotes (worker) a swarm node. Managers only.
func (e *HTTPEngine) SetRole(ctx context.Context, nodeID, role string) error {
	return e.updateNodeSpec(ctx, nodeID, "Role", role)
}

// SetLabels replaces a swarm node's labels (the tenant's placement labels,
// carried over when a rebuild makes a node join again under a new ID).
// Managers only.
func (e *HTTPEngine) SetLabels(ctx context.Context, nodeID string, labels map[string]string) error {
	return e.updateNodeSpec(ctx, nodeID, "Labels", labels)
}

// updateNodeSpec sets one field of a swarm node's spec, at the version read.
func (e *HTTPEngine) updateNodeSpec(ctx context.Context, nodeID, field string, value any) error {
	var n struct {
		Version struct {
			Index uint64 `json:"Index"`
		} `json:"Version"`
		Spec map[string]any `json:"Spec"`
	}
	if err := e.do(ctx, http.MethodGet, "/nodes/"+url.PathEscape(nodeID), nil, &n); err != nil {
		return err
	}
	if n.Spec == nil {
		n.Spec = map[string]any{}
	}
	n.Spec[field] = value
	return e.do(ctx, http.MethodPost, fmt.Sprintf("/nodes/%s/update?version=%d", url.PathEscape(nodeID), n.Version.Index), json.RawMessage(mustJSON(n.Spec)), nil)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
