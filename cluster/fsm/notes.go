package fsm

import (
	"encoding/json"
	"fmt"
)

// AutoscaleNote is the body of TypeAutoscaleNote: the autoscaler's verdict
// on cluster Key, with its figures, stamped by the leader (Meta.Time).
//
// Apply records it as an event (kind cluster, action autoscale) and keeps
// Message as the policy's LastNote, except that a Blocked note whose Message
// equals LastNote records nothing: an unchanged blocked verdict, re-sent
// every evaluation, does not fill the event log. An empty Message clears
// LastNote (the verdict went away) and records nothing, so the same blocked
// verdict coming back later is recorded again.
type AutoscaleNote struct {
	Meta
	Key     string `json:"key"`
	Message string `json:"message,omitempty"`
	Blocked bool   `json:"blocked,omitempty"`
}

// ActionAutoscale is the Action of the events autoscale notes record.
const ActionAutoscale = "autoscale"

func applyAutoscaleNote(s *State, index uint64, body []byte) (any, *Event, error) {
	var n AutoscaleNote
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, nil, fmt.Errorf("decode autoscale note at index %d: %w", index, err)
	}
	cl, ok := s.Clusters[n.Key]
	if !ok {
		return nil, nil, fmt.Errorf("autoscale note: cluster %q: %w", n.Key, ErrNotFound)
	}
	if cl.Autoscale == nil {
		return nil, nil, fmt.Errorf("autoscale note: cluster %q has no autoscale policy (turned off meanwhile): %w", n.Key, ErrConflict)
	}
	if n.Blocked && n.Message == cl.Autoscale.LastNote {
		return cl, nil, nil
	}
	a := *cl.Autoscale
	a.LastNote = n.Message
	cl.Autoscale, cl.ModifyIndex = &a, index
	s.Clusters[n.Key] = cl
	if n.Message == "" {
		return cl, nil, nil
	}
	return cl, &Event{Time: n.Time, Actor: n.Actor, Kind: "cluster", Action: ActionAutoscale, Object: n.Key, Cluster: n.Key, Message: n.Message}, nil
}

// tagCluster sets the event's Cluster from the state (after the command was
// applied): the object's key for cluster events, the node's cluster for node
// events. Deterministic: a function of the state only.
func tagCluster(s *State, ev *Event) {
	if ev.Cluster != "" {
		return
	}
	switch ev.Kind {
	case "cluster":
		if ev.Action != "init" { // "cluster init" is the Raft cluster's, not a tenant's
			ev.Cluster = ev.Object
		}
	case "node":
		if n, ok := s.Nodes[ev.Object]; ok {
			ev.Cluster = n.Tenant + "/" + n.Cluster
		}
	}
}

// tagNodeDelete wraps the node delete handler: the node is gone once it has
// run, so its cluster is read before.
func tagNodeDelete(h handler) handler {
	return func(s *State, index uint64, body []byte) (any, *Event, error) {
		var d Delete
		_ = json.Unmarshal(body, &d) // h reports a bad body
		n, known := s.Nodes[d.Key]
		v, ev, err := h(s, index, body)
		if ev != nil && known {
			ev.Cluster = n.Tenant + "/" + n.Cluster
		}
		return v, ev, err
	}
}

// ClusterEvents returns up to limit events of the cluster key (tenant/name)
// with an index above after, oldest first.
func (s *State) ClusterEvents(key string, after uint64, limit int) []Event {
	out := []Event{}
	for _, e := range s.Events {
		if e.Index > after && e.Cluster == key {
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out
}
