package scheduler

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func hv(name string, freeGiB int64, clusterNodes int) Hypervisor {
	return Hypervisor{Name: name, Ready: true,
		Capacity: Resources{Memory: freeGiB << 30, CPUs: 64, Disk: 1e12},
		Clusters: map[string]int{"web": clusterNodes}}
}

func TestPlace(t *testing.T) {
	for _, tc := range []struct {
		name string
		hvs  []Hypervisor
		n    int
		want []string
		err  string
	}{
		{"spread over three", []Hypervisor{hv("a", 16, 0), hv("b", 16, 0), hv("c", 16, 0)}, 3, []string{"a", "b", "c"}, ""},
		{"most free first", []Hypervisor{hv("a", 8, 0), hv("b", 16, 0), hv("c", 12, 0)}, 1, []string{"b"}, ""},
		{"spread beats free memory", []Hypervisor{hv("a", 64, 1), hv("b", 8, 0)}, 2, []string{"b", "a"}, ""},
		{"wraps around when more nodes than hypervisors", []Hypervisor{hv("a", 16, 0), hv("b", 16, 0)}, 4, []string{"a", "b", "a", "b"}, ""},
		{"skips not ready", []Hypervisor{{Name: "down", Capacity: Resources{1 << 40, 64, 1e12}}, hv("a", 8, 0)}, 1, []string{"a"}, ""},
		{"all or nothing", []Hypervisor{hv("a", 8, 0), hv("b", 5, 0)}, 4, nil,
			`cluster "web": no capacity: needs 4 node(s) of 4.0 GiB and 2 vCPUs; only 3 fit on the 2 ready hypervisor(s) (largest free: 8.0 GiB on a); add a hypervisor or free capacity`},
		{"none ready", []Hypervisor{{Name: "x"}}, 1, nil, `cluster "web": no capacity: no hypervisor is ready; check ` + "`vela hypervisors ls`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Place(tc.hvs, Request{Cluster: "web", Nodes: tc.n})
			if tc.err != "" {
				var nc *NoCapacityError
				if !errors.As(err, &nc) || err.Error() != tc.err {
					t.Fatalf("err = %v\nwant %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// Property: a placement never overcommits a hypervisor and, when every
// hypervisor has room, never puts two of a cluster's nodes together before
// each hypervisor has one.
func TestPlaceProperties(t *testing.T) {
	for n := 1; n <= 12; n++ {
		hvs := []Hypervisor{hv("a", 20, 0), hv("b", 12, 0), hv("c", 24, 0), hv("d", 9, 0)}
		got, err := Place(hvs, Request{Cluster: "web", Nodes: n})
		if err != nil {
			if n*4 <= 20/4*4+12/4*4+24/4*4+9/4*4 {
				t.Fatalf("n=%d: %v", n, err)
			}
			continue
		}
		per := map[string]int{}
		for _, h := range got {
			per[h]++
		}
		for _, h := range hvs {
			if int64(per[h.Name])*NodeSize.Memory > h.Capacity.Memory {
				t.Fatalf("n=%d overcommits %s: %v", n, h.Name, got)
			}
		}
		if n <= 4 && len(per) != n {
			t.Errorf("n=%d not spread: %v", n, got)
		}
	}
}
