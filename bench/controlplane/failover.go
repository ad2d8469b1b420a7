package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/vela-appliance/vela/cluster/faults"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// failover measures, kills times, the time from SIGKILL (or, graceful,
// SIGTERM: leadership transfer) of the leader to the first write
// acknowledged by the surviving members.
func failover(ctx context.Context, bin, dir string, kills int, graceful bool) ([]time.Duration, error) {
	c, err := faults.StartCluster(ctx, bin, dir, 3)
	defer c.Close()
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for i := range kills {
		if err := c.WaitConverged(ctx, 60*time.Second); err != nil {
			return out, err
		}
		leader, err := findLeader(ctx, c)
		if err != nil {
			return out, err
		}
		start := time.Now()
		if graceful {
			leader.Signal(syscall.SIGTERM)
		} else {
			leader.Kill()
		}
		var survivors []*faults.Proc
		for _, p := range c.Procs {
			if p != leader {
				survivors = append(survivors, p)
			}
		}
		d, err := firstWrite(ctx, c, survivors, start, i)
		if err != nil {
			return out, err
		}
		fmt.Fprintf(os.Stderr, "kill %d: leader %s, first write after %s\n", i+1, leader.ID, d.Round(time.Millisecond))
		out = append(out, d)
		if graceful && !leader.Wait(15*time.Second) {
			return out, fmt.Errorf("%s did not stop within 15 s of SIGTERM", leader.ID)
		}
		if err := leader.Restart(bin); err != nil {
			return out, err
		}
	}
	c.Stop()
	return out, nil
}

func findLeader(ctx context.Context, c *faults.Cluster) (*faults.Proc, error) {
	cl, err := c.Client(c.Procs[0], 5*time.Second)
	if err != nil {
		return nil, err
	}
	ms, err := cl.Members(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Leader {
			for _, p := range c.Procs {
				if p.ID == m.ID {
					return p, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no leader in %+v", ms)
}

func firstWrite(ctx context.Context, c *faults.Cluster, survivors []*faults.Proc, start time.Time, round int) (time.Duration, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for attempt := 0; ; attempt++ {
		p := survivors[attempt%len(survivors)]
		cl, err := c.Client(p, 500*time.Millisecond)
		if err != nil {
			return 0, err
		}
		_, err = cl.PutMachine(ctx, fsm.Machine{Name: fmt.Sprintf("failover-%d", round)})
		cl.Close()
		if err == nil {
			return time.Since(start), nil
		}
		if time.Since(start) > 30*time.Second {
			return 0, fmt.Errorf("no write succeeded 30 s after killing the leader: %w", err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
}
