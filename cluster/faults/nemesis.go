package faults

import (
	"context"
	"fmt"
	"math/rand"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fault kinds.
const (
	FaultKill      = "kill"      // SIGKILL, restart after a while
	FaultPause     = "pause"     // SIGSTOP, SIGCONT after a while
	FaultPartition = "partition" // iptables DROP between the victim's address and the others'
)

// Firewall adds iptables rules on loopback between member addresses and
// removes exactly those rules again.
type Firewall struct {
	mu    sync.Mutex
	rules [][]string
}

// HaveIptables tells whether iptables can be run.
func HaveIptables() bool {
	_, err := exec.LookPath("iptables")
	return err == nil
}

// Isolate drops all traffic between p's address and the others' (Raft;
// clients on 127.0.0.1 still reach p).
func (f *Firewall) Isolate(p *Proc, others []*Proc) error {
	for _, o := range others {
		if o == p {
			continue
		}
		for _, r := range [][]string{{"INPUT", "-i", "lo", "-s", p.IP, "-d", o.IP, "-j", "DROP"}, {"INPUT", "-i", "lo", "-s", o.IP, "-d", p.IP, "-j", "DROP"}} {
			if out, err := exec.Command("iptables", append([]string{"-I"}, r...)...).CombinedOutput(); err != nil {
				return fmt.Errorf("iptables -I %s: %v: %s", strings.Join(r, " "), err, out)
			}
			f.mu.Lock()
			f.rules = append(f.rules, r)
			f.mu.Unlock()
		}
	}
	return nil
}

// Heal removes every rule this firewall added.
func (f *Firewall) Heal() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []string
	for _, r := range f.rules {
		if out, err := exec.Command("iptables", append([]string{"-D"}, r...)...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("iptables -D %s: %v: %s", strings.Join(r, " "), err, out))
		}
	}
	f.rules = nil
	if errs != nil {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// nemesis injects one round of faults at a time into a minority of members
// until ctx ends, and heals before returning.
type nemesis struct {
	c      *Cluster
	fw     *Firewall
	rnd    *rand.Rand
	faults []string
	log    func(string, ...any)
	count  map[string]int
}

func (n *nemesis) run(ctx context.Context) error {
	minority := (len(n.c.Procs) - 1) / 2
	for {
		if !wait(ctx, time.Duration(300+n.rnd.Intn(700))*time.Millisecond) {
			return nil
		}
		kind := n.faults[n.rnd.Intn(len(n.faults))]
		victims := n.rnd.Perm(len(n.c.Procs))[:1+n.rnd.Intn(minority)]
		hold := time.Duration(500+n.rnd.Intn(1500)) * time.Millisecond
		var ids []string
		for _, v := range victims {
			ids = append(ids, n.c.Procs[v].ID)
		}
		n.log("fault %s on %v for %s", kind, ids, hold)
		n.count[kind]++
		for _, v := range victims {
			p := n.c.Procs[v]
			switch kind {
			case FaultKill:
				p.Kill()
			case FaultPause:
				p.Signal(syscall.SIGSTOP)
			case FaultPartition:
				if err := n.fw.Isolate(p, n.c.Procs); err != nil {
					return err
				}
			}
		}
		wait(ctx, hold)
		if err := n.heal(); err != nil {
			return err
		}
	}
}

// heal undoes every fault: restart the killed, continue the paused, drop
// the firewall rules.
func (n *nemesis) heal() error {
	if err := n.fw.Heal(); err != nil {
		return err
	}
	for _, p := range n.c.Procs {
		p.Signal(syscall.SIGCONT)
		if !p.Running() {
			if err := p.Restart(n.c.Bin); err != nil {
				return err
			}
		}
	}
	return nil
}

// wait waits d or until ctx ends (false then).
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
