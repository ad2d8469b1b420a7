package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vela-appliance/vela/cluster/pki"
)

// etcdCluster is 3 etcd 3.4 members on 127.0.0.21-23 with TLS for clients
// and peers (certificates from a throwaway CA), like Vela's members.
type etcdCluster struct {
	procs   []*exec.Cmd
	clients []string
	http    *http.Client
}

func freePort(ip string) int {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startEtcd(ctx context.Context, bin, dir string, n int) (*etcdCluster, error) {
	ca, err := pki.GenerateCA("etcd-bench", time.Now())
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "etcd-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	type member struct{ name, ip, peer, client, cert, key string }
	var ms []member
	var initial []string
	for i := range n {
		ip := fmt.Sprintf("127.0.0.%d", 21+i)
		m := member{name: fmt.Sprintf("e%d", i+1), ip: ip,
			peer: fmt.Sprintf("https://%s:%d", ip, freePort(ip)), client: fmt.Sprintf("https://%s:%d", ip, freePort(ip))}
		keyPEM, csr, err := pki.NewKeyAndCSR(m.name)
		if err != nil {
			return nil, err
		}
		certPEM, err := ca.SignCSR(csr, m.name, pki.RoleMember, []net.IP{net.ParseIP(ip), net.IPv4(127, 0, 0, 1)}, []string{"localhost"}, time.Now())
		if err != nil {
			return nil, err
		}
		m.cert, m.key = filepath.Join(dir, m.name+".pem"), filepath.Join(dir, m.name+"-key.pem")
		os.WriteFile(m.cert, certPEM, 0o644)
		os.WriteFile(m.key, keyPEM, 0o600)
		ms = append(ms, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	ec := &etcdCluster{}
	for _, m := range ms {
		logf, err := os.Create(filepath.Join(dir, m.name+".log"))
		if err != nil {
			return ec, err
		}
		cmd := exec.Command(bin, "--name", m.name, "--data-dir", filepath.Join(dir, m.name),
			"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
			"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new", "--initial-cluster-token", "vela-bench",
			"--cert-file", m.cert, "--key-file", m.key, "--trusted-ca-file", caFile,
			"--peer-cert-file", m.cert, "--peer-key-file", m.key, "--peer-trusted-ca-file", caFile, "--peer-client-cert-auth",
			"--logger", "zap", "--log-level", "error")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return ec, fmt.Errorf("start etcd %s: %w", m.name, err)
		}
		ec.procs = append(ec.procs, cmd)
		ec.clients = append(ec.clients, m.client)
	}
	pool, _ := pki.Pool(ca.CertPEM)
	// etcd 3.4 asks clients for a certificate once --trusted-ca-file is set.
	keyPEM, csr, err := pki.NewKeyAndCSR("bench")
	if err != nil {
		return ec, err
	}
	certPEM, err := ca.SignCSR(csr, "bench", pki.RoleAgent, nil, nil, time.Now())
	if err != nil {
		return ec, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return ec, err
	}
	ec.http = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}, MaxIdleConnsPerHost: 128}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := ec.put(ctx, 0, "ready", "1"); err == nil {
			return ec, nil
		} else if time.Now().After(deadline) {
			return ec, fmt.Errorf("etcd cluster not ready in 30 s: %w (logs in %s)", err, dir)
		}
		select {
		case <-ctx.Done():
			return ec, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// put writes one key through the etcd v3 JSON gateway of member i.
func (ec *etcdCluster) put(ctx context.Context, i int, key, value string) error {
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key)), "value": base64.StdEncoding.EncodeToString([]byte(value))})
	req, err := http.NewRequestWithContext(ctx, "POST", ec.clients[i%len(ec.clients)]+"/v3/kv/put", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ec.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("etcd put: HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}

// close kills the etcd processes it started, by PID.
func (ec *etcdCluster) close() {
	for _, p := range ec.procs {
		_ = p.Process.Kill()
		_ = p.Wait()
	}
}
