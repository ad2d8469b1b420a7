package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// RunConfig configures one fault run.
type RunConfig struct {
	// Bin is the vela binary; Dir a scratch directory.
	Bin, Dir string
	Members  int
	Clients  int
	Keys     int
	Duration time.Duration
	Seed     int64
	Faults   []string
	Log      func(format string, args ...any)
}

// Report is the outcome of a run.
type Report struct {
	Ops, Acked, Unknown, Failed int
	UniqueAcked                 int
	Faults                      map[string]int
	// UnknownErrors counts the errors that left a put's outcome unknown.
	UnknownErrors map[string]int
	Result        porcupine.CheckResult
	// Missing lists acknowledged writes absent after healing.
	Missing []string
	// Illegal describes the keys whose histories are not linearizable.
	Illegal []string
	// Viz is the path of the visualisation written on a violation.
	Viz string
}

// Run starts a cluster, drives concurrent clients through the API while
// injecting faults, heals, and checks the history for linearizability and
// every acknowledged write for presence on every member.
func Run(ctx context.Context, cfg RunConfig) (Report, error) {
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	if cfg.Keys == 0 {
		cfg.Keys = 4
	}
	rep := Report{Faults: map[string]int{}, UnknownErrors: map[string]int{}}
	c, err := StartCluster(ctx, cfg.Bin, cfg.Dir, cfg.Members)
	defer c.Close()
	if err != nil {
		return rep, err
	}
	fw := &Firewall{}
	defer fw.Heal()
	clients := make([]*client.Client, len(c.Procs))
	for i, p := range c.Procs {
		if clients[i], err = c.Client(p, 3*time.Second); err != nil {
			return rep, err
		}
	}
	h := NewHistory()
	var (
		mu     sync.Mutex
		unique []string
	)
	wctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for id := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(cfg.Seed*1000 + int64(id)))
			for seq := 0; wctx.Err() == nil; seq++ {
				cl := clients[rnd.Intn(len(clients))]
				key := fmt.Sprintf("k%d", rnd.Intn(cfg.Keys))
				val := fmt.Sprintf("c%d-%d", id, seq)
				switch r := rnd.Intn(20); {
				case r < 9:
					in := Input{Put: true, Key: key, Value: val}
					call := h.Now()
					_, err := cl.PutMachine(ctx, fsm.Machine{Name: key, Labels: map[string]string{"v": val}})
					ret := h.Now()
					switch {
					case err == nil:
						h.Add(id, in, Output{}, call, ret)
					case definitelyNotApplied(err):
					default:
						h.AddUnknown(id, in, call)
						mu.Lock()
						rep.UnknownErrors[errKind(err)]++
						mu.Unlock()
					}
				case r < 18:
					call := h.Now()
					m, err := cl.GetMachine(ctx, key, false)
					ret := h.Now()
					switch {
					case err == nil:
						h.Add(id, Input{Key: key}, Output{Value: m.Labels["v"]}, call, ret)
					case client.StatusOf(err) == http.StatusNotFound:
						h.Add(id, Input{Key: key}, Output{}, call, ret)
					}
				default:
					name := fmt.Sprintf("u-%d-%d", id, seq)
					if _, err := cl.PutMachine(ctx, fsm.Machine{Name: name}); err == nil {
						mu.Lock()
						unique = append(unique, name)
						mu.Unlock()
					}
				}
			}
		}()
	}
	n := &nemesis{c: c, fw: fw, rnd: rand.New(rand.NewSource(cfg.Seed)), faults: cfg.Faults, log: cfg.Log, count: rep.Faults}
	var nemErr error
	if len(cfg.Faults) > 0 {
		nemErr = n.run(wctx)
	} else {
		<-wctx.Done()
	}
	wg.Wait()
	if err := n.heal(); err != nil {
		return rep, err
	}
	if nemErr != nil {
		return rep, nemErr
	}
	cfg.Log("healed; waiting for every member to catch up")
	if err := c.WaitConverged(ctx, 60*time.Second); err != nil {
		return rep, err
	}
	// Final linearizable reads of every key, then presence of every
	// acknowledged unique write on every member.
	for k := range cfg.Keys {
		key := fmt.Sprintf("k%d", k)
		call := h.Now()
		cl, _ := c.Client(c.Procs[k%len(c.Procs)], 10*time.Second)
		m, err := cl.GetMachine(ctx, key, false)
		if err != nil && client.StatusOf(err) != http.StatusNotFound {
			return rep, fmt.Errorf("final read of %s: %w", key, err)
		}
		h.Add(cfg.Clients, Input{Key: key}, Output{Value: m.Labels["v"]}, call, h.Now())
	}
	rep.UniqueAcked = len(unique)
	for _, p := range c.Procs {
		cl, _ := c.Client(p, 30*time.Second)
		var all []fsm.Machine
		if err := cl.Do(ctx, "GET", "/v1/machines?stale=true", nil, &all); err != nil {
			return rep, fmt.Errorf("list machines on %s: %w", p.ID, err)
		}
		have := map[string]bool{}
		for _, m := range all {
			have[m.Name] = true
		}
		for _, u := range unique {
			if !have[u] {
				rep.Missing = append(rep.Missing, p.ID+":"+u)
			}
		}
	}
	h.mu.Lock()
	for _, op := range h.ops {
		switch {
		case op.Return >= 1<<61:
			rep.Unknown++
		case op.Input.(Input).Put:
			rep.Acked++
		}
	}
	rep.Ops = len(h.ops)
	h.mu.Unlock()
	rep.Viz = cfg.Dir + "/linearizability.html"
	rep.Result, err = h.Check(2*time.Minute, rep.Viz)
	if rep.Result == porcupine.Illegal {
		rep.Illegal = h.IllegalKeys(time.Minute)
	}
	c.Stop()
	return rep, err
}

// definitelyNotApplied tells errors after which the write surely did not
// happen: the request was refused before anything was proposed.
func definitelyNotApplied(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true // never reached the member
	}
	var e *client.Error
	if !errors.As(err, &e) {
		return false // timeouts, resets: unknown
	}
	return e.NotApplied || (e.Status >= 400 && e.Status < 500)
}

// WaitConverged waits until every member is reachable, a leader exists and
// all members have applied the same index.
func (c *Cluster) WaitConverged(ctx context.Context, d time.Duration) error {
	var last string
	err := poll(ctx, d, "members to converge", func() bool {
		var idx []uint64
		for _, p := range c.Procs {
			cl, _ := c.Client(p, time.Second)
			ms, err := cl.Members(ctx)
			cl.Close()
			if err != nil {
				last = err.Error()
				return false
			}
			leader := false
			for _, m := range ms {
				if m.Error != "" {
					last = m.ID + ": " + m.Error
					return false
				}
				leader = leader || m.Leader
				idx = append(idx, m.AppliedIndex)
			}
			if !leader || len(ms) != len(c.Procs) {
				last = "no leader or missing members"
				return false
			}
		}
		for _, i := range idx {
			if i != idx[0] {
				last = fmt.Sprintf("applied indexes differ: %v", idx)
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("%w (last: %s)", err, last)
	}
	return nil
}

// errKind shortens an error for counting.
func errKind(err error) string {
	var e *client.Error
	if errors.As(err, &e) {
		msg := e.Msg
		if len(msg) > 60 {
			msg = msg[:60]
		}
		return fmt.Sprintf("HTTP %d %s", e.Status, msg)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "net " + op.Op + ": " + op.Err.Error()
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[len(s)-80:]
	}
	return s
}
