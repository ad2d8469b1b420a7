package faults

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/member"
)

func TestStaleDataDirOfAnotherClusterRefused(t *testing.T) {
	bin := vela(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := StartCluster(ctx, bin, t.TempDir(), 1)
	defer a.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartCluster(ctx, bin, t.TempDir(), 1)
	defer b.Close()
	if err != nil {
		t.Fatal(err)
	}
	old := a.Procs[0]
	a.Stop()
	cl, _ := b.Client(b.Procs[0], 5*time.Second)
	tok, err := cl.JoinToken(ctx, "member", "5m")
	if err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tf, []byte(tok.Token), 0o600)
	// Reuse cluster A's member data dir to join cluster B.
	out, err := exec.CommandContext(ctx, bin, "server", "--data-dir", old.DataDir, "--raft-addr", old.RaftAddr, "--api-addr", old.APIAddr,
		"--ca-file", b.CAFile, "--join", b.Procs[0].APIAddr, "--token-file", tf).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "holds cluster") || !strings.Contains(string(out), "fresh --data-dir") {
		t.Fatalf("joining with a stale data dir: err %v, output:\n%s", err, out)
	}
}

func TestRecoverAfterQuorumLoss(t *testing.T) {
	bin := vela(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, bin, t.TempDir(), 3)
	defer c.Close()
	if err != nil {
		t.Fatal(err)
	}
	m1 := c.Procs[0]
	cl, _ := c.Client(m1, 5*time.Second)
	if _, err := cl.PutMachine(ctx, fsm.Machine{Name: "survivor", Labels: map[string]string{"v": "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConverged(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Procs[1].Kill()
	c.Procs[2].Kill()
	if _, err := cl.PutMachine(ctx, fsm.Machine{Name: "lost"}); err == nil {
		t.Fatal("a write succeeded without quorum")
	}
	m1.Kill()
	out, err := exec.CommandContext(ctx, bin, "members", "recover", "--data-dir", m1.DataDir, "--members", "m1="+m1.RaftAddr).CombinedOutput()
	if err != nil {
		t.Fatalf("recover: %v\n%s", err, out)
	}
	if err := m1.Restart(bin); err != nil {
		t.Fatal(err)
	}
	cl2, _ := c.Client(m1, 5*time.Second)
	var got fsm.Machine
	if err := poll(ctx, 30*time.Second, "the recovered member to serve", func() bool {
		got, err = cl2.GetMachine(ctx, "survivor", false)
		return err == nil
	}); err != nil {
		t.Fatalf("%v (last: %v)\n%s", err, err, m1.LogTail())
	}
	if got.Labels["v"] != "1" {
		t.Fatalf("committed data lost in recovery: %+v", got)
	}
	if _, err := cl2.PutMachine(ctx, fsm.Machine{Name: "after-recovery"}); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
}

// TestPreparedJoinTokens follows the installer's flow: tokens are made
// ahead of time, the bootstrap member gets their hashes, another member
// joins with one, and a second use of it is refused.
func TestPreparedJoinTokens(t *testing.T) {
	bin := vela(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	tok, rec := member.NewJoinToken(fsm.JoinMember, time.Now(), time.Hour)
	b, _ := json.Marshal([]fsm.JoinToken{rec})
	hashes := filepath.Join(dir, "join-tokens.json")
	os.WriteFile(hashes, b, 0o600)
	tf := filepath.Join(dir, "join-token")
	os.WriteFile(tf, []byte(tok), 0o600)

	c := &Cluster{Bin: bin, Dir: dir, CAFile: filepath.Join(dir, "ca.pem")}
	defer c.Close()
	mk := func(i int, extra ...string) *Proc {
		ip := "127.0.0." + strconv.Itoa(11+i)
		rp, _ := freePort(ip)
		ap, _ := freePort(ip)
		p := &Proc{ID: "m" + strconv.Itoa(i+1), IP: ip, RaftAddr: ip + ":" + strconv.Itoa(rp), APIAddr: ip + ":" + strconv.Itoa(ap)}
		p.DataDir, p.logPath = filepath.Join(dir, p.ID), filepath.Join(dir, p.ID+".log")
		p.args = append([]string{"server", "--id", p.ID, "--data-dir", p.DataDir, "--raft-addr", p.RaftAddr, "--api-addr", p.APIAddr, "--ca-file", c.CAFile}, extra...)
		c.Procs = append(c.Procs, p)
		return p
	}
	m1 := mk(0, "--bootstrap", "--join-tokens", hashes)
	if err := m1.start(bin); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, 30*time.Second, "admin token", func() bool { _, err := os.Stat(filepath.Join(m1.DataDir, "admin-token")); return err == nil }); err != nil {
		t.Fatalf("%v\n%s", err, m1.LogTail())
	}
	a, _ := os.ReadFile(filepath.Join(m1.DataDir, "admin-token"))
	c.Admin = strings.TrimSpace(string(a))
	c.caPEM, _ = os.ReadFile(c.CAFile)
	m2 := mk(1, "--join", m1.APIAddr, "--token-file", tf)
	if err := m2.start(bin); err != nil {
		t.Fatal(err)
	}
	if err := c.waitVoters(ctx, m1, m2, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	m3 := mk(2, "--join", m1.APIAddr, "--token-file", tf)
	out, err := exec.CommandContext(ctx, bin, m3.args...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already used by m2") {
		t.Fatalf("second use of a prepared token: %v\n%s", err, out)
	}
}
