package run

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMilestones(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	events := []Event{
		{Time: at(0), Type: EventPlan},
		{Time: at(3), Type: EventStepDone, Step: "images"},
		{Time: at(5), Type: EventMachine, Machine: "m1", State: "pxe-requested"},
		{Time: at(6), Type: EventMachine, Machine: "m2", State: "pxe-requested"},
		{Time: at(9), Type: EventMachine, Machine: "m1", State: "config-fetched"},
		{Time: at(10), Type: EventMachine, Machine: "m1", State: "config-fetched"}, // a refetch is one machine
		{Time: at(12), Type: EventMachine, Machine: "m2", State: "config-fetched"},
		{Time: at(20), Type: EventStepDone, Step: "bootstrap/m1"},
		{Time: at(30), Type: EventStepDone, Step: "join/m2"},
		{Time: at(40), Type: EventStepDone, Step: "hypervisor/m1"},
		{Time: at(41), Type: EventStepSkipped, Step: "hypervisor/m2"},
		{Time: at(42), Type: EventStepDone, Step: "hypervisor/m2"},
		{Time: at(60), Type: EventStepDone, Step: "tenant-cluster"},
		{Time: at(61), Type: EventRunDone},
	}
	m := NewMilestones(2, 1, 2)
	var got []string
	for _, ev := range events {
		if ms, ok := m.Observe(ev); ok {
			got = append(got, ms.Name+" "+ms.Since.String())
		}
	}
	want := []string{"images ready 3s", "first PXE request 5s", "all Ignition configs fetched 12s", "control plane formed 30s",
		"all hypervisors ready 42s", "first cluster active 1m0s", "install complete 1m1s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
	var b strings.Builder
	PrintMilestones(&b, m.List())
	if !strings.Contains(b.String(), "  all hypervisors ready                42s  (+12s)") {
		t.Errorf("summary:\n%s", b.String())
	}
}
