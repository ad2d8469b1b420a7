package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"github.com/vela-appliance/vela/cluster/agent/node"
)

// NodesFile is the format of a desired-nodes file: what a standalone agent
// (vela agent --nodes FILE) runs when no control plane is wired in.
type NodesFile struct {
	Nodes []FileNode `json:"nodes"`
}

// FileNode is one node of a NodesFile. Paths are relative to the file.
type FileNode struct {
	Name        string `json:"name"`
	Tenant      string `json:"tenant"`
	Address     string `json:"address"` // 10.20.0.10/24
	Gateway     string `json:"gateway"` // 10.20.0.1 (the tenant bridge's address)
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
	VCPUs       int    `json:"vcpus,omitempty"`
	DiskBytes   uint64 `json:"disk_bytes,omitempty"`
	Privileged  bool   `json:"privileged,omitempty"`
	CAFile      string `json:"ca_file"`
	CertFile    string `json:"cert_file"`
	KeyFile     string `json:"key_file"`
}

// ParseNodesFile decodes and checks a desired-nodes file (unknown fields are
// errors). It does not read the TLS files.
func ParseNodesFile(data []byte) (NodesFile, error) {
	var f NodesFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return NodesFile{}, fmt.Errorf("nodes file: %w", err)
	}
	seen := map[string]bool{}
	for i, n := range f.Nodes {
		if seen[n.Name] {
			return NodesFile{}, fmt.Errorf("nodes file: nodes[%d]: name %q is used twice", i, n.Name)
		}
		seen[n.Name] = true
		if _, err := n.spec(); err != nil {
			return NodesFile{}, fmt.Errorf("nodes file: nodes[%d]: %w", i, err)
		}
	}
	return f, nil
}

func (n FileNode) spec() (DesiredNode, error) {
	addr, err := netip.ParsePrefix(n.Address)
	if err != nil {
		return DesiredNode{}, fmt.Errorf("node %q: address: %w", n.Name, err)
	}
	gw, err := netip.ParseAddr(n.Gateway)
	if err != nil {
		return DesiredNode{}, fmt.Errorf("node %q: gateway: %w", n.Name, err)
	}
	s := node.Spec{Name: n.Name, Tenant: n.Tenant, Address: addr, Gateway: gw, MemoryBytes: n.MemoryBytes,
		VCPUs: n.VCPUs, DiskBytes: n.DiskBytes, Privileged: n.Privileged, Bridge: node.BridgeName(n.Tenant)}.WithDefaults()
	if err := s.Validate(); err != nil {
		return DesiredNode{}, err
	}
	return DesiredNode{Spec: s, Network: node.TenantNet{Tenant: n.Tenant, Gateway: netip.PrefixFrom(gw, addr.Bits())}}, nil
}

// FileControlPlane is a ControlPlane backed by local files: it reads the
// desired nodes from Path on every reconcile and writes the registration,
// last heartbeat and node states as JSON to StatusPath.
type FileControlPlane struct {
	Path       string
	StatusPath string

	mu     sync.Mutex
	status fileStatus
}

type fileStatus struct {
	Registration Registration          `json:"registration"`
	Usage        Usage                 `json:"usage"`
	Nodes        map[string]NodeStatus `json:"nodes"`
}

// Register records r.
func (f *FileControlPlane) Register(_ context.Context, r Registration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status.Registration = r
	return f.save()
}

// Heartbeat records u.
func (f *FileControlPlane) Heartbeat(_ context.Context, u Usage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status.Usage = u
	return f.save()
}

// ReportNode records s.
func (f *FileControlPlane) ReportNode(_ context.Context, _ string, s NodeStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.Nodes == nil {
		f.status.Nodes = map[string]NodeStatus{}
	}
	f.status.Nodes[s.Name] = s
	return f.save()
}

// DesiredNodes reads the nodes file and its TLS files.
func (f *FileControlPlane) DesiredNodes(context.Context, string) ([]DesiredNode, error) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, err
	}
	nf, err := ParseNodesFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	dir := filepath.Dir(f.Path)
	var out []DesiredNode
	for _, n := range nf.Nodes {
		d, _ := n.spec()
		for _, p := range []struct {
			file string
			dst  *[]byte
		}{{n.CAFile, &d.TLS.CACert}, {n.CertFile, &d.TLS.Cert}, {n.KeyFile, &d.TLS.Key}} {
			path := p.file
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			if *p.dst, err = os.ReadFile(path); err != nil {
				return nil, fmt.Errorf("%s: node %q: %w", f.Path, n.Name, err)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func (f *FileControlPlane) save() error {
	if f.StatusPath == "" {
		return nil
	}
	b, err := json.MarshalIndent(f.status, "", "  ")
	if err != nil {
		return err
	}
	tmp := f.StatusPath + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, f.StatusPath)
}
