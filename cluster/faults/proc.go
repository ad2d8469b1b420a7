package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vela-appliance/vela/cluster/client"
)

// Proc is one `vela server` process on its own loopback address.
type Proc struct {
	ID       string
	IP       string
	RaftAddr string
	APIAddr  string
	DataDir  string
	args     []string
	logPath  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	paused bool
}

// Cluster is a set of real member processes started by this package.
type Cluster struct {
	Bin    string
	Dir    string
	CAFile string
	Admin  string
	Procs  []*Proc
	caPEM  []byte
}

// freePort finds a free TCP port on ip.
func freePort(ip string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StartCluster starts n members: the first bootstraps, the others join
// with their own tokens. Member i listens on 127.0.0.(11+i); extra
// arguments are passed to every `vela server`. The caller must Close the
// cluster.
func StartCluster(ctx context.Context, bin, dir string, n int, extra ...string) (*Cluster, error) {
	c := &Cluster{Bin: bin, Dir: dir, CAFile: filepath.Join(dir, "ca.pem")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c, err
	}
	for i := range n {
		ip := fmt.Sprintf("127.0.0.%d", 11+i)
		rp, err := freePort(ip)
		if err != nil {
			return c, err
		}
		ap, err := freePort(ip)
		if err != nil {
			return c, err
		}
		p := &Proc{ID: fmt.Sprintf("m%d", i+1), IP: ip, RaftAddr: fmt.Sprintf("%s:%d", ip, rp), APIAddr: fmt.Sprintf("%s:%d", ip, ap)}
		p.DataDir = filepath.Join(dir, p.ID)
		p.logPath = filepath.Join(dir, p.ID+".log")
		p.args = append([]string{"server", "--id", p.ID, "--data-dir", p.DataDir, "--raft-addr", p.RaftAddr, "--api-addr", p.APIAddr, "--ca-file", c.CAFile}, extra...)
		c.Procs = append(c.Procs, p)
	}
	first := c.Procs[0]
	first.args = append(first.args, "--bootstrap")
	if err := first.start(bin); err != nil {
		return c, err
	}
	tokenFile := filepath.Join(first.DataDir, "admin-token")
	if err := poll(ctx, 30*time.Second, "the bootstrap member's admin token", func() bool {
		b, err := os.ReadFile(tokenFile)
		return err == nil && len(b) > 0
	}); err != nil {
		return c, fmt.Errorf("%w\n%s", err, first.LogTail())
	}
	b, _ := os.ReadFile(tokenFile)
	c.Admin = strings.TrimSpace(string(b))
	var err error
	if c.caPEM, err = os.ReadFile(c.CAFile); err != nil {
		return c, err
	}
	// The admin token is written during bootstrap, before the API listens:
	// wait until the bootstrap member answers before anyone asks it anything.
	cl, err := c.Client(first, 2*time.Second)
	if err != nil {
		return c, err
	}
	var lastErr error
	if err := poll(ctx, 30*time.Second, "the bootstrap member's API", func() bool {
		_, lastErr = cl.Cluster(ctx)
		return lastErr == nil
	}); err != nil {
		return c, fmt.Errorf("%w (last error: %v)\n%s", err, lastErr, first.LogTail())
	}
	for _, p := range c.Procs[1:] {
		cl, err := c.Client(first, 10*time.Second)
		if err != nil {
			return c, err
		}
		tok, err := cl.JoinToken(ctx, "member", "10m")
		if err != nil {
			return c, fmt.Errorf("join token for %s: %w", p.ID, err)
		}
		tf := filepath.Join(dir, p.ID+".join-token")
		if err := os.WriteFile(tf, []byte(tok.Token), 0o600); err != nil {
			return c, err
		}
		// Like the Ignition unit: --join stays on the command line for restarts.
		p.args = append(p.args, "--join", first.APIAddr, "--token-file", tf)
		if err := p.start(bin); err != nil {
			return c, err
		}
		if err := c.waitVoters(ctx, first, p, 60*time.Second); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (c *Cluster) waitVoters(ctx context.Context, via, p *Proc, d time.Duration) error {
	cl, err := c.Client(via, 2*time.Second)
	if err != nil {
		return err
	}
	var last error
	err = poll(ctx, d, "member "+p.ID+" to join", func() bool {
		ms, err := cl.Members(ctx)
		last = err
		for _, m := range ms {
			if m.ID == p.ID && m.Error == "" && m.State != "" {
				return true
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("%w (last: %v)\n%s", err, last, p.LogTail())
	}
	return nil
}

// Client returns an admin client of member p (no retries).
func (c *Cluster) Client(p *Proc, timeout time.Duration) (*client.Client, error) {
	return client.New(client.Config{Server: p.APIAddr, Token: c.Admin, CAPEM: c.caPEM, Timeout: timeout})
}

// Close stops every process it started (SIGKILL by PID) and waits for them.
func (c *Cluster) Close() {
	for _, p := range c.Procs {
		p.Kill()
	}
}

// Stop ends every process gracefully (SIGTERM), then kills stragglers.
func (c *Cluster) Stop() {
	for _, p := range c.Procs {
		p.Signal(syscall.SIGTERM)
	}
	for _, p := range c.Procs {
		p.wait(10 * time.Second)
	}
	c.Close()
}

func (p *Proc) start(bin string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, p.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.ID, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	p.cmd, p.done, p.paused = cmd, done, false
	return nil
}

// Running tells whether the process is alive.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process if it runs.
func (p *Proc) Signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
		switch sig {
		case syscall.SIGSTOP:
			p.paused = true
		case syscall.SIGCONT:
			p.paused = false
		}
	}
}

// Wait waits up to d for the process to exit.
func (p *Proc) Wait(d time.Duration) bool { return p.wait(d) }

func (p *Proc) wait(d time.Duration) bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// Kill SIGKILLs the process (also when paused) and waits for it to exit.
func (p *Proc) Kill() {
	p.Signal(syscall.SIGKILL)
	p.wait(10 * time.Second)
}

// Restart starts the process again with the same arguments.
func (p *Proc) Restart(bin string) error {
	if p.Running() {
		return errors.New(p.ID + " is still running")
	}
	return p.start(bin)
}

// PID is the process ID (0 if never started).
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// LogTail returns the end of the process's log.
func (p *Proc) LogTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "--- " + p.ID + " log tail ---\n" + string(b)
}

// poll checks cond every 20 ms until it holds or d passes.
func poll(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", d, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
