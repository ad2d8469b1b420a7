package swarm

import (
	"context"
	"net/http"
	"net/url"
)

// Task is one entry of GET /tasks: what the autoscaler reads of it.
type Task struct {
	ID           string `json:"ID"`
	ServiceID    string `json:"ServiceID"`
	NodeID       string `json:"NodeID"`
	DesiredState string `json:"DesiredState"`
	Spec         struct {
		Resources struct {
			Reservations struct {
				NanoCPUs    int64 `json:"NanoCPUs"`
				MemoryBytes int64 `json:"MemoryBytes"`
			} `json:"Reservations"`
		} `json:"Resources"`
	} `json:"Spec"`
	Status struct {
		State   string `json:"State"`
		Message string `json:"Message"`
		Err     string `json:"Err"`
	} `json:"Status"`
}

// Tasks lists the swarm's tasks whose desired state is running (managers only).
func (e *HTTPEngine) Tasks(ctx context.Context) ([]Task, error) {
	var ts []Task
	q := url.QueryEscape(`{"desired-state":["running"]}`)
	return ts, e.do(ctx, http.MethodGet, "/tasks?filters="+q, nil, &ts)
}

// Limits are the resource limits of one standalone container.
type Limits struct {
	ID        string
	Memory    int64 // bytes; 0 = none
	NanoCPUs  int64 // from --cpus, or CpuQuota/CpuPeriod
	SwarmTask bool  // part of a swarm service (counted from its task instead)
}

// ContainerLimits lists the running containers of this engine with their limits.
func (e *HTTPEngine) ContainerLimits(ctx context.Context) ([]Limits, error) {
	var list []struct {
		ID     string            `json:"Id"`
		Labels map[string]string `json:"Labels"`
	}
	if err := e.do(ctx, http.MethodGet, "/containers/json", nil, &list); err != nil {
		return nil, err
	}
	out := make([]Limits, 0, len(list))
	for _, c := range list {
		var ins struct {
			HostConfig struct {
				Memory    int64 `json:"Memory"`
				NanoCpus  int64 `json:"NanoCpus"`
				CPUQuota  int64 `json:"CpuQuota"`
				CPUPeriod int64 `json:"CpuPeriod"`
			} `json:"HostConfig"`
		}
		if err := e.do(ctx, http.MethodGet, "/containers/"+url.PathEscape(c.ID)+"/json", nil, &ins); err != nil {
			return nil, err
		}
		l := Limits{ID: c.ID, Memory: ins.HostConfig.Memory, NanoCPUs: ins.HostConfig.NanoCpus}
		if l.NanoCPUs == 0 && ins.HostConfig.CPUQuota > 0 {
			period := ins.HostConfig.CPUPeriod
			if period == 0 {
				period = 100000 // the kernel's default CFS period, in µs
			}
			l.NanoCPUs = ins.HostConfig.CPUQuota * 1e9 / period
		}
		_, l.SwarmTask = c.Labels["com.docker.swarm.task.id"]
		out = append(out, l)
	}
	return out, nil
}
