package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

var eventsT0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// TestPrintEventsGolden renders one batch in each output format.
func TestPrintEventsGolden(t *testing.T) {
	evs := []fsm.Event{
		{Index: 41, Time: eventsT0, Actor: "admin", Kind: "cluster", Action: "create", Object: "acme/web", Cluster: "acme/web"},
		{Index: 57, Time: eventsT0.Add(90 * time.Second), Actor: "controller", Kind: "cluster", Action: "autoscale", Object: "acme/web", Cluster: "acme/web",
			Message: "memory 85% of 4 GiB reserved >= 80%: adding 1 node"},
	}
	for _, output := range []string{"table", "json", "yaml"} {
		t.Run(output, func(t *testing.T) {
			var b bytes.Buffer
			if err := printEvents(&b, evs, output, true); err != nil {
				t.Fatal(err)
			}
			golden := "testdata/events." + output
			if *update {
				os.WriteFile(golden, b.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestClusterEventsCommand: a tenant reads its cluster's events and sees
// the autoscaler's verdicts in `cluster get`; an admin names the tenant.
func TestClusterEventsCommand(t *testing.T) {
	apply, _ := apiServer(t)
	meta := fsm.Meta{Actor: "controller", Time: eventsT0}
	apply(fsm.TypeTenantUpsert, fsm.Upsert[fsm.Tenant]{Meta: meta, Object: fsm.Tenant{Name: "acme"}})
	apply(fsm.TypeClusterUpsert, fsm.Upsert[fsm.Cluster]{Meta: meta, Object: fsm.Cluster{Tenant: "acme", Name: "web", Nodes: 1, State: fsm.ClusterActive,
		Autoscale: &fsm.AutoscalePolicy{Enabled: true, Threshold: 0.8}}})
	for _, msg := range []string{"memory 85% of 4 GiB reserved >= 80%: adding 1 node", "memory 85% of 8 GiB reserved >= 80%: would add 1 node, but the cluster has 2 of its maximum 2 nodes"} {
		apply(fsm.TypeAutoscaleNote, fsm.AutoscaleNote{Meta: meta, Key: "acme/web", Message: msg, Blocked: strings.Contains(msg, "would")})
	}
	run := func(want int, args ...string) string { t.Helper(); return velaExit(t, want, args...) }
	if out := run(1, "events", "--cluster", "web"); !strings.Contains(out, "?tenant=") {
		t.Errorf("admin without a tenant: %s", out)
	}
	if out := run(0, "events", "--cluster", "acme/web"); !strings.Contains(out, "would add 1 node") || !strings.Contains(out, "MESSAGE") {
		t.Errorf("admin with acme/web:\n%s", out)
	}
	if out := run(1, "events", "--cluster", "acme/web", "--tenant", "beta"); !strings.Contains(out, "give one") {
		t.Errorf("two tenants: %s", out)
	}

	tok, id, hash := pki.NewToken(pki.PrefixAPI)
	apply(fsm.TypeAPITokenUpsert, fsm.Upsert[fsm.APIToken]{Object: fsm.APIToken{ID: id, Hash: hash, Scope: fsm.ScopeTenant, Tenant: "acme"}})
	t.Setenv("VELA_TOKEN", tok)
	var evs []fsm.Event
	for _, line := range strings.Split(strings.TrimSpace(run(0, "events", "--cluster", "web", "-o", "json")), "\n") {
		var e fsm.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		evs = append(evs, e)
	}
	if len(evs) != 3 || evs[0].Action != "create" || evs[2].Message == "" {
		t.Errorf("events -o json: %+v", evs)
	}
	if out := run(0, "events", "--cluster", "web", "-o", "yaml"); strings.Count(out, "---\n") != 3 || !strings.Contains(out, "message: 'memory 85% of 4 GiB reserved >= 80%: adding 1 node'") {
		t.Errorf("events -o yaml:\n%s", out)
	}
	if out := run(1, "events", "--cluster", "db"); !strings.Contains(out, `cluster \"db\" not found`) && !strings.Contains(out, `cluster "db" not found`) {
		t.Errorf("unknown cluster: %s", out)
	}
	if out := run(1, "events"); !strings.Contains(out, "403") {
		t.Errorf("a tenant reading every event: %s", out)
	}
	out := run(0, "cluster", "get", "web")
	for _, want := range []string{"verdicts:   2026-11-26T12:00:00Z  memory 85% of 4 GiB reserved >= 80%: adding 1 node\n", "            2026-11-26T12:00:00Z  memory 85% of 8 GiB reserved >= 80%: would add 1 node"} {
		if !strings.Contains(out, want) {
			t.Errorf("cluster get lacks %q:\n%s", want, out)
		}
	}
	if out := run(0, "cluster", "get", "web", "-o", "json"); !strings.Contains(out, `"autoscale_events"`) {
		t.Errorf("cluster get -o json:\n%s", out)
	}
}
