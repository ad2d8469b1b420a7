package fsm

import (
	"maps"
	"slices"
)

// MaxEvents is how many events the state keeps at least; once a quarter
// more have accumulated the oldest are dropped (a function of the log only,
// so every member drops the same ones).
const MaxEvents = 10000

// State is the whole replicated state. It is read under the FSM's lock
// (FSM.View) and replaced whole by Restore.
type State struct {
	Info        ClusterInfo           `json:"info"`
	Members     map[string]Member     `json:"members"`
	Machines    map[string]Machine    `json:"machines"`
	Hypervisors map[string]Hypervisor `json:"hypervisors"`
	Tenants     map[string]Tenant     `json:"tenants"`
	APITokens   map[string]APIToken   `json:"api_tokens"`
	Clusters    map[string]Cluster    `json:"clusters"`
	Nodes       map[string]Node       `json:"nodes"`
	JoinTokens  map[string]JoinToken  `json:"join_tokens"`
	Subnets     map[string]Subnet     `json:"subnets"`
	// Discovered are machines seen on the boot network but not in Machines,
	// by MAC; InstallConfig is the config stored at handover (nil before).
	Discovered    map[string]DiscoveredMachine `json:"discovered"`
	InstallConfig *InstallConfig               `json:"install_config,omitempty"`
	Events        []Event                      `json:"events"`
	LastIndex     uint64                       `json:"last_index"`

	// BootLeases are the day-2 DHCP pool leases, by MAC (TypeBootLeases).
	BootLeases map[string]BootLease `json:"boot_leases"`
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		Members:     map[string]Member{},
		Machines:    map[string]Machine{},
		Hypervisors: map[string]Hypervisor{},
		Tenants:     map[string]Tenant{},
		APITokens:   map[string]APIToken{},
		Clusters:    map[string]Cluster{},
		Nodes:       map[string]Node{},
		JoinTokens:  map[string]JoinToken{},
		Subnets:     map[string]Subnet{},
		Discovered:  map[string]DiscoveredMachine{},
		BootLeases:  map[string]BootLease{},
	}
}

// fill replaces nil maps after decoding (an empty map encodes as null only
// if it was nil, but snapshots from older versions may lack a field).
func (s *State) fill() {
	e := NewState()
	if s.Members == nil {
		s.Members = e.Members
	}
	if s.Machines == nil {
		s.Machines = e.Machines
	}
	if s.Hypervisors == nil {
		s.Hypervisors = e.Hypervisors
	}
	if s.Tenants == nil {
		s.Tenants = e.Tenants
	}
	if s.APITokens == nil {
		s.APITokens = e.APITokens
	}
	if s.Clusters == nil {
		s.Clusters = e.Clusters
	}
	if s.Nodes == nil {
		s.Nodes = e.Nodes
	}
	if s.JoinTokens == nil {
		s.JoinTokens = e.JoinTokens
	}
	if s.Subnets == nil {
		s.Subnets = e.Subnets
	}
	if s.Discovered == nil {
		s.Discovered = e.Discovered
	}
	if s.BootLeases == nil {
		s.BootLeases = e.BootLeases
	}
}

// clone copies the maps and the event slice (not the objects, which are
// values that Apply replaces whole).
func (s *State) clone() *State {
	c := *s
	c.Members = maps.Clone(s.Members)
	c.Machines = maps.Clone(s.Machines)
	c.Hypervisors = maps.Clone(s.Hypervisors)
	c.Tenants = maps.Clone(s.Tenants)
	c.APITokens = maps.Clone(s.APITokens)
	c.Clusters = maps.Clone(s.Clusters)
	c.Nodes = maps.Clone(s.Nodes)
	c.JoinTokens = maps.Clone(s.JoinTokens)
	c.Subnets = maps.Clone(s.Subnets)
	c.Discovered = maps.Clone(s.Discovered)
	c.BootLeases = maps.Clone(s.BootLeases)
	c.Events = s.Events[:len(s.Events):len(s.Events)]
	return &c
}

// TokenByHash finds the API token whose secret hashes to h.
func (s *State) TokenByHash(h string) (APIToken, bool) {
	for _, t := range s.APITokens {
		if t.Hash == h {
			return t, true
		}
	}
	return APIToken{}, false
}

// EventsAfter returns up to limit events with an index above after.
func (s *State) EventsAfter(after uint64, limit int) []Event {
	i, _ := slices.BinarySearchFunc(s.Events, after+1, func(e Event, idx uint64) int {
		switch {
		case e.Index < idx:
			return -1
		case e.Index > idx:
			return 1
		}
		return 0
	})
	out := s.Events[i:]
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return slices.Clone(out)
}

// Sorted returns the values of m ordered by key.
func Sorted[T any](m map[string]T) []T {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

// clustersOf counts a tenant's clusters.
func (s *State) clustersOf(tenant string) int {
	n := 0
	for _, c := range s.Clusters {
		if c.Tenant == tenant {
			n++
		}
	}
	return n
}
