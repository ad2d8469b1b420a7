package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vela-appliance/vela/cluster/fsm"
)

// TestClusterEvents: a tenant reads its own cluster's events (with the
// autoscaler's figures); another tenant's cluster is not found, whatever
// the caller passes; an admin names the tenant.
func TestClusterEvents(t *testing.T) {
	tc := newCluster(t, 1, nil)
	m := tc.members[0]
	a, b := tenantToken(t, tc, "acme"), tenantToken(t, tc, "beta")
	meta := fsm.Meta{Actor: "controller", Time: tc.now}
	tc.apply(t, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Meta: meta, Object: fsm.Cluster{Tenant: "acme", Name: "web", Nodes: 1, Autoscale: &fsm.AutoscalePolicy{Enabled: true}}})
	tc.apply(t, fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Meta: meta, Object: fsm.Cluster{Tenant: "beta", Name: "web", Nodes: 1}})
	tc.apply(t, fsm.TypeNodeUpsert, fsm.Upsert[fsm.Node]{Meta: meta, Object: fsm.Node{Name: "acme-web-1", Tenant: "acme", Cluster: "web"}})
	tc.apply(t, fsm.TypeAutoscaleNote, fsm.AutoscaleNote{Meta: meta, Key: "acme/web", Message: "memory 85% of 4 GiB reserved >= 80%: adding 1 node"})

	tests := []struct {
		name, path, token string
		code              int
		want              []string // in the body
		not               string   // not in the body
	}{
		{"own cluster", "/v1/clusters/web/events", a, 200, []string{`"object": "acme-web-1"`, `"message": "memory 85% of 4 GiB reserved \u003e= 80%: adding 1 node"`, `"action": "autoscale"`}, "beta/web"},
		{"after and limit", "/v1/clusters/web/events?limit=1&after=1", a, 200, []string{`"action": "create"`, `"object": "acme/web"`}, "acme-web-1"},
		{"other tenant's cluster of the same name is its own", "/v1/clusters/web/events", b, 200, []string{`"object": "beta/web"`}, "acme"},
		{"other tenant, naming it", "/v1/clusters/web/events?tenant=acme", b, 404, []string{`cluster \"web\" not found`}, "acme-web-1"},
		{"no such cluster", "/v1/clusters/db/events", a, 404, []string{"vela cluster ls"}, ""},
		{"admin must name the tenant", "/v1/clusters/web/events", tc.admin, 400, []string{"?tenant="}, ""},
		{"admin", "/v1/clusters/web/events?tenant=acme", tc.admin, 200, []string{`"cluster": "acme/web"`, "adding 1 node"}, "beta"},
		{"the last autoscale verdict", "/v1/clusters/web/events?action=autoscale&last=1", a, 200, []string{"adding 1 node"}, "acme-web-1"},
		{"the last two", "/v1/clusters/web/events?last=2", a, 200, []string{"acme-web-1", "adding 1 node"}, `"action": "create",\n    "object": "acme/web"`},
		{"bad last", "/v1/clusters/web/events?last=x", a, 400, []string{"1 to 1000"}, ""},
		{"bad limit", "/v1/clusters/web/events?limit=0", a, 400, []string{"1 to 1000"}, ""},
		{"anonymous", "/v1/clusters/web/events", "", 401, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tc.call(t, m, "GET", tt.path, tt.token, nil, nil)
			if r.code != tt.code {
				t.Fatalf("HTTP %d, want %d: %s", r.code, tt.code, r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(r.body), w) {
					t.Errorf("no %q in %s", w, r.body)
				}
			}
			if tt.not != "" && strings.Contains(string(r.body), tt.not) {
				t.Errorf("%q in %s", tt.not, r.body)
			}
		})
	}
	t.Run("only the cluster's events, in order", func(t *testing.T) {
		r := tc.call(t, m, "GET", "/v1/clusters/web/events", a, nil, nil)
		var evs []fsm.Event
		if err := json.Unmarshal(r.body, &evs); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, e.Kind+" "+e.Action+" "+e.Object)
		}
		if want := "cluster create acme/web,node create acme-web-1,cluster autoscale acme/web"; strings.Join(got, ",") != want {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}
