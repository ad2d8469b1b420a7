package run

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Milestone names, in the order an install reaches them.
const (
	MilestoneImages       = "images ready"
	MilestoneFirstPXE     = "first PXE request"
	MilestoneConfigs      = "all Ignition configs fetched"
	MilestoneControlPlane = "control plane formed"
	MilestoneHypervisors  = "all hypervisors ready"
	MilestoneCluster      = "first cluster active"
	MilestoneDone         = "install complete"
)

// Milestone is a point an operator cares about, with when it was reached.
type Milestone struct {
	Name  string
	At    time.Time
	Since time.Duration // since the run started
}

// Milestones turns a run's events into its milestones (the lab benchmark,
// the end-to-end test and the end-of-install summary read them). Steps are
// recognised by their plan kinds (images, machine-boot/..., join/...,
// hypervisor/..., tenant-cluster); a milestone whose steps were done in an
// earlier run (skipped) is not reported.
type Milestones struct {
	machines, joins, hypervisors int
	start                        time.Time
	seen                         map[string]map[string]bool
	list                         []Milestone
}

// NewMilestones expects a plan with this many machines, members that join
// (voters after the first) and hypervisors.
func NewMilestones(machines, joins, hypervisors int) *Milestones {
	return &Milestones{machines: machines, joins: joins, hypervisors: hypervisors, seen: map[string]map[string]bool{}}
}

func (m *Milestones) count(set, key string) int {
	if m.seen[set] == nil {
		m.seen[set] = map[string]bool{}
	}
	m.seen[set][key] = true
	return len(m.seen[set])
}

// Observe takes the next event and returns the milestone it completes.
func (m *Milestones) Observe(ev Event) (Milestone, bool) {
	if m.start.IsZero() || ev.Type == EventPlan {
		m.start = ev.Time
	}
	kind, _, _ := strings.Cut(ev.Step, "/")
	name := ""
	switch {
	case ev.Type == EventStepDone && kind == "images":
		name = MilestoneImages
	case ev.Type == EventMachine && ev.State == "pxe-requested" && m.count("pxe", ev.Machine) == 1:
		name = MilestoneFirstPXE
	case ev.Type == EventMachine && ev.State == "config-fetched" && m.count("config", ev.Machine) == m.machines:
		name = MilestoneConfigs
	case ev.Type == EventStepDone && kind == "join" && m.count("join", ev.Step) == m.joins:
		name = MilestoneControlPlane
	case ev.Type == EventStepDone && kind == "bootstrap" && m.joins == 0:
		name = MilestoneControlPlane
	case ev.Type == EventStepDone && kind == "hypervisor" && m.count("hypervisor", ev.Step) == m.hypervisors:
		name = MilestoneHypervisors
	case ev.Type == EventStepDone && kind == "tenant-cluster":
		name = MilestoneCluster
	case ev.Type == EventRunDone:
		name = MilestoneDone
	}
	if name == "" || m.seen["done"][name] {
		return Milestone{}, false
	}
	m.count("done", name)
	ms := Milestone{Name: name, At: ev.Time, Since: ev.Time.Sub(m.start)}
	m.list = append(m.list, ms)
	return ms, true
}

// List returns the milestones reached so far, in order.
func (m *Milestones) List() []Milestone { return m.list }

// PrintMilestones writes a two-column summary: each milestone, the time
// since the start and since the one before.
func PrintMilestones(w io.Writer, list []Milestone) {
	var prev time.Duration
	for _, ms := range list {
		fmt.Fprintf(w, "  %-30s %9s  (+%s)\n", ms.Name, ms.Since.Round(time.Second), (ms.Since - prev).Round(time.Second))
		prev = ms.Since
	}
}
