package agent

import (
	"strings"
	"testing"
)

func TestParseNodesFile(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"ok", `{"nodes":[{"name":"n1","tenant":"acme","address":"10.20.0.10/24","gateway":"10.20.0.1","ca_file":"ca.pem","cert_file":"c.pem","key_file":"k.pem"}]}`, ""},
		{"unknown key", `{"nodes":[{"name":"n1","tenat":"acme"}]}`, "unknown field"},
		{"bad address", `{"nodes":[{"name":"n1","tenant":"acme","address":"10.20.0.300/24","gateway":"10.20.0.1"}]}`, `node "n1": address`},
		{"duplicate", `{"nodes":[{"name":"n1","tenant":"a","address":"10.20.0.10/24","gateway":"10.20.0.1"},{"name":"n1","tenant":"a","address":"10.20.0.11/24","gateway":"10.20.0.1"}]}`, "used twice"},
		{"gateway outside", `{"nodes":[{"name":"n1","tenant":"a","address":"10.20.0.10/24","gateway":"10.30.0.1"}]}`, "must be another address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNodesFile([]byte(tc.in))
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseNodesFile = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParseNodesFile(f *testing.F) {
	f.Add([]byte(`{"nodes":[{"name":"n1","tenant":"acme","address":"10.20.0.10/24","gateway":"10.20.0.1"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		nf, err := ParseNodesFile(data)
		if err != nil {
			return
		}
		for _, n := range nf.Nodes {
			d, err := n.spec()
			if err != nil {
				t.Fatalf("accepted node %q fails later: %v", n.Name, err)
			}
			if d.Spec.Validate() != nil || !d.Network.Gateway.Contains(d.Spec.Address.Addr()) {
				t.Fatalf("accepted an invalid node: %+v", d)
			}
		}
	})
}
