package main

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	serverIP = "10.98.0.1"
	clientIP = "10.98.0.2"
	prefix   = "/21"
	poolLo   = "10.98.1.0"
	poolHi   = "10.98.5.255"
	// firstMemberIP is machine 0's reservation (outside the pool).
	firstMemberIP = "10.98.0.10"
)

// lab is the bench network: a server namespace with bridge br0 and a client
// namespace joined to it by a veth (MTU 1500).
type lab struct {
	srv, cli string
	dir      string
}

func ipCmd(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func newLab(dir string, maxN int) (*lab, error) {
	suffix := strconv.Itoa(os.Getpid())
	l := &lab{srv: "vbsrv" + suffix, cli: "vbcli" + suffix, dir: dir}
	steps := [][]string{
		{"netns", "add", l.srv}, {"netns", "add", l.cli},
		{"-n", l.srv, "link", "set", "lo", "up"}, {"-n", l.cli, "link", "set", "lo", "up"},
		{"-n", l.srv, "link", "add", "br0", "type", "bridge"},
		{"-n", l.srv, "addr", "add", serverIP + prefix, "dev", "br0"},
		{"-n", l.srv, "link", "set", "br0", "up"},
		{"-n", l.srv, "link", "add", "vb0", "mtu", "1500", "type", "veth", "peer", "name", "eth0", "netns", l.cli},
		{"-n", l.srv, "link", "set", "vb0", "master", "br0", "up"},
		{"-n", l.cli, "addr", "add", clientIP + prefix, "dev", "eth0"},
		{"-n", l.cli, "link", "set", "eth0", "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			l.close()
			return nil, err
		}
	}
	// Every pool address on the client side, so each simulated machine can
	// use the address it leased (vela checks requests come from the lease).
	var b strings.Builder
	for a, i := parseIPv4(poolLo), 0; i < 1280; a, i = a+1, i+1 {
		fmt.Fprintf(&b, "addr add %s%s dev eth0 noprefixroute\n", a, prefix)
	}
	fmt.Fprintf(&b, "addr add %s%s dev eth0 noprefixroute\n", firstMemberIP, prefix)
	batch := filepath.Join(dir, "addrs.batch")
	os.WriteFile(batch, []byte(b.String()), 0o644)
	if err := ipCmd("-n", l.cli, "-batch", batch); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

func (l *lab) close() {
	exec.Command("ip", "netns", "del", l.cli).Run()
	exec.Command("ip", "netns", "del", l.srv).Run()
}

type ipv4 uint32

func (a ipv4) String() string { return fmt.Sprintf("%d.%d.%d.%d", a>>24, a>>16&255, a>>8&255, a&255) }

func parseIPv4(s string) ipv4 {
	var b [4]uint32
	fmt.Sscanf(s, "%d.%d.%d.%d", &b[0], &b[1], &b[2], &b[3])
	return ipv4(b[0]<<24 | b[1]<<16 | b[2]<<8 | b[3])
}

// files writes the boot artifacts both stacks serve.
func writeFiles(dir string, kernelMB, initrdMB, machines int) error {
	www := filepath.Join(dir, "www")
	for _, d := range []string{www, filepath.Join(www, "ignition"), filepath.Join(dir, "ign")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		mb   int
	}{{"kernel", kernelMB}, {"initramfs", initrdMB}} {
		out, err := os.Create(filepath.Join(www, f.name))
		if err != nil {
			return err
		}
		_, err = io.CopyN(out, rand.Reader, int64(f.mb)<<20)
		out.Close()
		if err != nil {
			return err
		}
	}
	ign := `{"ignition":{"version":"3.4.0"}}`
	os.WriteFile(filepath.Join(www, "ignition", "config.ign"), []byte(ign), 0o644)
	os.WriteFile(filepath.Join(www, "boot.ipxe"), []byte(fmt.Sprintf(`#!ipxe
kernel http://%[1]s/kernel initrd=initramfs ignition.config.url=http://%[1]s/ignition/config.ign
initrd --name initramfs http://%[1]s/initramfs
boot
`, serverIP)), 0o644)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `version: 1
name: bench
network:
  interface: br0
  address: %s%s
  dhcp: {mode: full, pool: %s-%s, lease_time: 1h}
os:
  image: custom
  kernel: %s
  initramfs: %s
machines:
`, serverIP, prefix, poolLo, poolHi, filepath.Join(www, "kernel"), filepath.Join(www, "initramfs"))
	for i := 0; i < machines; i++ {
		role := "hypervisor"
		if i == 0 {
			role = "member"
		}
		name := fmt.Sprintf("m%04d", i)
		addr := ""
		if i == 0 { // the bootstrap member needs a static address
			addr = ", address: " + firstMemberIP
		}
		fmt.Fprintf(&cfg, "  - {name: %s, mac: %q, role: %s%s}\n", name, clientMAC(i).String(), role, addr)
		if err := os.WriteFile(filepath.Join(dir, "ign", name+".ign"), []byte(ign), 0o600); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "vela.yaml"), []byte(cfg.String()), 0o644)
}

// server is one running stack: its processes (by PID) and how to stop them.
type server struct {
	name  string
	cmds  []*exec.Cmd
	state string
}

func (s *server) pids() []int {
	var p []int
	for _, c := range s.cmds {
		p = append(p, c.Process.Pid)
	}
	return p
}

func (s *server) stop() {
	for i := len(s.cmds) - 1; i >= 0; i-- {
		c := s.cmds[i]
		c.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			c.Process.Kill()
			<-done
		}
	}
}

func startIn(ns, logPath string, name string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); logf.Close() }()
	return cmd, nil
}

// waitLog waits until the log file holds needle.
func waitLog(path, needle string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		f, err := os.Open(path)
		if err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if strings.Contains(sc.Text(), needle) {
					f.Close()
					return nil
				}
			}
			f.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	return fmt.Errorf("%q not in %s after %s:\n%s", needle, path, d, b)
}

func startVela(l *lab, run int, velaBin string) (*server, error) {
	state := filepath.Join(l.dir, fmt.Sprintf("vela-state-%d", run))
	logPath := filepath.Join(l.dir, fmt.Sprintf("vela-%d.log", run))
	self, _ := os.Executable()
	args := []string{"-role", "serve", "-config", filepath.Join(l.dir, "vela.yaml"), "-ign", filepath.Join(l.dir, "ign"), "-state", state}
	bin := self
	if velaBin != "" {
		bin, args = velaBin, []string{"pxe", "serve", "--config", filepath.Join(l.dir, "vela.yaml"), "--ignition-dir", filepath.Join(l.dir, "ign"), "--state-dir", state}
	}
	cmd, err := startIn(l.srv, logPath, bin, args...)
	if err != nil {
		return nil, err
	}
	s := &server{name: "vela pxe serve", cmds: []*exec.Cmd{cmd}}
	if err := waitLog(logPath, "boot services running", 30*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func startReference(l *lab, run int) (*server, error) {
	d := filepath.Join(l.dir, fmt.Sprintf("ref-%d", run))
	os.MkdirAll(filepath.Join(d, "tmp"), 0o755)
	dnsLog := filepath.Join(d, "dnsmasq.log")
	conf := fmt.Sprintf(`port=0
interface=br0
bind-interfaces
dhcp-range=%s,%s,255.255.248.0,1h
dhcp-leasefile=%s/leases
dhcp-lease-max=5000
no-ping
dhcp-userclass=set:ipxe,iPXE
dhcp-boot=tag:!ipxe,undionly.kpxe,,%s
dhcp-boot=tag:ipxe,http://%s/boot.ipxe
enable-tftp
tftp-root=/usr/lib/ipxe
tftp-max=2000
log-facility=%s
`, poolLo, poolHi, d, serverIP, serverIP, dnsLog)
	os.WriteFile(filepath.Join(d, "dnsmasq.conf"), []byte(conf), 0o644)
	dns, err := startIn(l.srv, filepath.Join(d, "dnsmasq.out"), "dnsmasq", "-k", "-u", "root", "-C", filepath.Join(d, "dnsmasq.conf"), "-x", filepath.Join(d, "dnsmasq.pid"))
	if err != nil {
		return nil, err
	}
	s := &server{name: "dnsmasq + nginx", cmds: []*exec.Cmd{dns}}
	if err := waitLog(dnsLog, "TFTP root", 15*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	ngx := fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log %[1]s/access.log;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path %[1]s/tmp;
  proxy_temp_path %[1]s/tmp;
  fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp;
  scgi_temp_path %[1]s/tmp;
  server { listen %[2]s:80; root %[3]s; }
}
`, d, serverIP, filepath.Join(l.dir, "www"))
	os.WriteFile(filepath.Join(d, "nginx.conf"), []byte(ngx), 0o644)
	ng, err := startIn(l.srv, filepath.Join(d, "nginx.out"), "nginx", "-c", filepath.Join(d, "nginx.conf"), "-p", d)
	if err != nil {
		s.stop()
		return nil, err
	}
	s.cmds = append(s.cmds, ng)
	if err := waitFile(filepath.Join(d, "nginx.pid"), 15*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func waitFile(path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not appear within %s", path, d)
}
