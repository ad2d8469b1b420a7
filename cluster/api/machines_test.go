package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vela-appliance/vela/cluster/fsm"
)

const storedYAML = `version: 1
network:
  interface: eno1
  address: 192.168.50.2/24
  dhcp: {mode: proxy}
ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1NOqE8kG/C3vLkR8a2j9qPB01m5DdJ+dYeJj2u0cjr op@x"]
machines:
  - {name: a, mac: "0c:c4:7a:00:00:01", role: member, address: 192.168.50.10}
  - {name: b, mac: "0c:c4:7a:00:00:02", role: hypervisor, disk: /dev/sda}
discovery: {mode: MODE, role: hypervisor}
`

func installBody(t *testing.T, mode string) string {
	return string(mustJSON(t, InstallConfigRequest{YAML: strings.Replace(storedYAML, "MODE", mode, 1)}))
}

func TestMachinesAndInstallConfig(t *testing.T) {
	tc := newCluster(t, 1, nil)
	m := tc.members[0]
	tc.apply(t, fsm.TypeMachineDiscovered, fsm.Upsert[fsm.DiscoveredMachine]{Object: fsm.DiscoveredMachine{MAC: "52:54:00:00:00:99", UUID: "u-1"}})
	withPath := string(mustJSON(t, InstallConfigRequest{YAML: strings.Replace(storedYAML, "MODE", "admit", 1) + "butane: [{name: x, path: x.bu}]\n"}))
	withKey := string(mustJSON(t, InstallConfigRequest{YAML: storedYAML + "# -----BEGIN OPENSSH PRIVATE KEY-----\n"}))
	tests := []struct {
		name, method, path, body string
		wantCode                 int
		wantField                string
	}{
		{"admit before a config", "POST", "/v1/machines/admit", `{"name":"hv1","mac":"52:54:00:00:00:99"}`, 409, ""},
		{"no config yet", "GET", "/v1/install-config", "", 404, ""},
		{"invalid config", "PUT", "/v1/install-config", `{"yaml":"version: 1\n"}`, 400, "yaml"},
		{"path snippet", "PUT", "/v1/install-config", withPath, 400, "yaml"},
		{"private key", "PUT", "/v1/install-config", withKey, 400, "yaml"},
		{"store (ignore)", "PUT", "/v1/install-config", installBody(t, "ignore"), 200, ""},
		{"admit with mode ignore", "POST", "/v1/machines/admit", `{"name":"hv1","mac":"52:54:00:00:00:99"}`, 409, ""},
		{"store (admit)", "PUT", "/v1/install-config", installBody(t, "admit"), 200, ""},
		{"admit without mac", "POST", "/v1/machines/admit", `{"name":"hv1"}`, 400, "mac"},
		{"admit a member", "POST", "/v1/machines/admit", `{"name":"hv1","mac":"52:54:00:00:00:99","role":"member"}`, 400, "role"},
		{"admit a taken MAC", "POST", "/v1/machines/admit", `{"name":"hv1","mac":"0C-C4-7A-00-00-01"}`, 409, "mac"},
		{"admit a bad disk", "POST", "/v1/machines/admit", `{"name":"hv1","mac":"52:54:00:00:00:99","disk":"sda"}`, 400, "disk"},
		{"admit a reserved name", "POST", "/v1/machines/admit", `{"name":"discovered","mac":"52:54:00:00:00:99"}`, 400, "name"},
		{"admit outside the subnet", "POST", "/v1/machines/admit", `{"name":"hv1","mac":"52:54:00:00:00:99","address":"10.1.1.1"}`, 400, "address"},
		{"admit", "POST", "/v1/machines/admit", `{"name":"hv1","mac":"52:54:00:00:00:99","disk":"/dev/vda"}`, 200, ""},
		{"admit the name again", "POST", "/v1/machines/admit", `{"name":"hv1","mac":"52:54:00:00:00:98"}`, 409, "name"},
		{"put a bad role", "PUT", "/v1/machines/x", `{"role":"king"}`, 400, "role"},
		{"record a sighting", "POST", "/v1/machines/discovered", `{"mac":"52-54-00-00-00-77","arch":"bios"}`, 200, ""},
		{"record a bad MAC", "POST", "/v1/machines/discovered", `{"mac":"nope"}`, 400, "mac"},
		{"record a known MAC", "POST", "/v1/machines/discovered", `{"mac":"0c:c4:7a:00:00:02"}`, 409, ""},
		{"forget", "DELETE", "/v1/machines/discovered/52:54:00:00:00:77", "", 204, ""},
		{"forget again", "DELETE", "/v1/machines/discovered/52:54:00:00:00:77", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.method != "GET" && tt.method != "DELETE" {
				body = []byte(tt.body)
			}
			r := tc.call(t, m, tt.method, tt.path, tc.admin, body, nil)
			if r.code != tt.wantCode {
				t.Fatalf("HTTP %d, want %d: %s", r.code, tt.wantCode, r.body)
			}
			if e := r.err(); r.code >= 400 && (e.Field != tt.wantField || e.Msg == "") {
				t.Fatalf("error body %s: want field %q and a message", r.body, tt.wantField)
			}
		})
	}

	r := tc.call(t, m, "GET", "/v1/machines", tc.admin, nil, nil)
	var ms []fsm.Machine
	if err := json.Unmarshal(r.body, &ms); err != nil || len(ms) != 3 {
		t.Fatalf("machines: %s", r.body)
	}
	want := map[string]string{"a": fsm.MachineReported, "b": fsm.MachineInstalled, "hv1": fsm.MachineAdmitted}
	for _, mc := range ms {
		if mc.State != want[mc.Name] {
			t.Errorf("machine %s: state %q, want %q", mc.Name, mc.State, want[mc.Name])
		}
	}
	if strings.Contains(string(r.body), "boot_token") || strings.Contains(string(tc.call(t, m, "GET", "/v1/machines/hv1", tc.admin, nil, nil).body), "boot_token") {
		t.Errorf("an answer carries a boot token: %s", r.body)
	}
	var st *fsm.State
	m.fsm.View(func(s *fsm.State) { st = s })
	hv1 := st.Machines["hv1"]
	if len(hv1.BootToken) != 48 || hv1.UUID != "u-1" || len(st.Discovered) != 0 {
		t.Errorf("admitted %+v (discovered left: %v); want a boot token, the discovered UUID, the entry gone", hv1, st.Discovered)
	}
	// Replacing the record with the same MAC keeps the boot token.
	tc.call(t, m, "PUT", "/v1/machines/hv1", tc.admin, []byte(`{"mac":"52:54:00:00:00:99","uuid":"u-1","role":"hypervisor","labels":{"rack":"2"}}`), nil)
	m.fsm.View(func(s *fsm.State) { st = s })
	if got := st.Machines["hv1"]; got.BootToken != hv1.BootToken || got.Labels["rack"] != "2" {
		t.Errorf("after a replace: %+v; want the same boot token", got)
	}
	var ic fsm.InstallConfig
	if err := json.Unmarshal(tc.call(t, m, "GET", "/v1/install-config", tc.admin, nil, nil).body, &ic); err != nil || !strings.Contains(ic.YAML, "mode: admit") || len(ic.SHA256) != 64 {
		t.Errorf("stored config %+v, %v", ic, err)
	}
}
