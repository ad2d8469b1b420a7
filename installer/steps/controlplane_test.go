package steps

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vela-appliance/vela/cluster/client"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/member"
	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/plan"
)

type logReporter struct{ t *testing.T }

func (r logReporter) Progress(done, of int64, unit string) {}
func (r logReporter) Machine(name, state, detail string) {
	r.t.Logf("machine %s: %s %s", name, state, detail)
}
func (r logReporter) Logf(format string, args ...any) { r.t.Logf(format, args...) }

// freePorts finds two ports free on every address given.
func freePorts(t *testing.T, ips ...string) (int, int) {
	t.Helper()
	var ports []int
	for len(ports) < 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := true
		for _, ip := range ips {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			ports = append(ports, p)
		}
	}
	return ports[0], ports[1]
}

// TestControlPlaneStepsWithRealMembers runs the installer's secrets step,
// then starts real members (Raft on disk, the API over TLS) exactly as the
// rendered units do — the bootstrap member with the staged CA key and the
// seed's token records, the others with their join tokens — and checks
// that the bootstrap and join steps see them form the control plane.
func TestControlPlaneStepsWithRealMembers(t *testing.T) {
	ips := []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"}
	api, raft := freePorts(t, ips...)
	text := fmt.Sprintf(`version: 1
name: cp-test
network: {interface: lo, address: 127.0.0.1/8, dhcp: {mode: off}}
control_plane: {members: 3, api_port: %d, raft_port: %d}
tenant: {name: demo}
machines:
`, api, raft)
	for i, ip := range ips {
		role := "member"
		if i == len(ips)-1 {
			role = "both" // a config needs a hypervisor
		}
		text += fmt.Sprintf("  - {name: m%d, mac: \"52:54:00:00:00:%02x\", role: %s, address: %s}\n", i+1, i+1, role, ip)
	}
	cfg, _, diags := config.Parse("cp.yaml", []byte(text))
	if diags.HasErrors() {
		t.Fatalf("test config: %v", diags.Errors())
	}
	env := &Env{Config: cfg, StateDir: t.TempDir(), ContextPath: filepath.Join(t.TempDir(), "config.json")}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := logReporter{t}
	if err := env.secrets(ctx, plan.Step{Kind: plan.Secrets}, r); err != nil {
		t.Fatal(err)
	}
	secrets := env.secretsDir()
	tokens, err := ignition.ReadTokens(filepath.Join(secrets, ignition.TokensFile))
	if err != nil {
		t.Fatal(err)
	}
	caKey := filepath.Join(env.bootSecretsDir(), "m1", ignition.CAKeySecret)
	if _, err := os.Stat(caKey); err != nil {
		t.Fatalf("the CA key is not staged for the bootstrap member: %v", err)
	}

	errs := make(chan error, len(ips))
	start := func(i int) {
		etc := t.TempDir()
		ca, _ := os.ReadFile(filepath.Join(secrets, "ca.pem"))
		os.WriteFile(filepath.Join(etc, "ca.pem"), ca, 0o644) // as Ignition writes it
		mc := member.Config{DataDir: t.TempDir(), ID: cfg.Machines[i].Name, CAFile: filepath.Join(etc, "ca.pem"),
			RaftAddr: net.JoinHostPort(ips[i], strconv.Itoa(raft)), APIAddr: net.JoinHostPort(ips[i], strconv.Itoa(api)),
			LogStore: "wal", Logger: slog.New(slog.DiscardHandler)}
		if i == 0 {
			mc.Bootstrap, mc.CAKeyFile = true, caKey
			mc.JoinTokensFile, mc.APITokensFile = filepath.Join(secrets, JoinRecordsFile), filepath.Join(secrets, APIRecordsFile)
		} else {
			mc.Join, mc.JoinToken = net.JoinHostPort(ips[0], strconv.Itoa(api)), tokens[cfg.Machines[i].Name]
		}
		m, err := member.New(mc)
		if err != nil {
			t.Fatal(err)
		}
		go func() { errs <- m.Run(ctx) }()
	}
	start(0)
	if err := env.bootstrap(ctx, plan.Step{Kind: plan.Bootstrap, Machine: "m1"}, r); err != nil {
		t.Fatalf("bootstrap step: %v", err)
	}
	start(1)
	start(2)
	for _, m := range []string{"m2", "m3"} {
		if err := env.join(ctx, plan.Step{Kind: plan.Join, Machine: m}, r); err != nil {
			t.Fatalf("join step for %s: %v", m, err)
		}
	}
	if err := env.handover(ctx, plan.Step{Kind: plan.Handover}, r); err != nil {
		t.Fatalf("handover step: %v", err)
	}
	if _, err := os.Stat(filepath.Join(secrets, "ca-key.pem")); !os.IsNotExist(err) {
		t.Errorf("the seed still holds the CA key after handover: %v", err)
	}
	// The operator's context reaches the cluster without flags.
	t.Setenv(client.EnvConfig, env.ContextPath)
	for _, k := range []string{client.EnvServer, client.EnvToken, client.EnvCA} {
		t.Setenv(k, "")
	}
	cc, err := client.Resolve("", "", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.Members(ctx)
	if err != nil || len(ms) != 3 {
		t.Fatalf("members through the written context: %+v %v, want 3", ms, err)
	}
	// The first tenant, twice (a rerun keeps the token), and its context.
	for i := 0; i < 2; i++ {
		if err := env.tenant(ctx, plan.Step{Kind: plan.Tenant}, r); err != nil {
			t.Fatalf("tenant step (run %d): %v", i+1, err)
		}
	}
	tc, err := env.tenantClient()
	if err != nil {
		t.Fatal(err)
	}
	if who, err := tc.Whoami(ctx); err != nil || who.Kind != "tenant" || who.Tenant != "demo" {
		t.Fatalf("the tenant's context acts as %+v (%v), want tenant demo", who, err)
	}
	if toks, err := c.Tokens(ctx); err != nil || countTenantTokens(toks, "demo") != 1 {
		t.Fatalf("tenant tokens after two runs: %v %v, want exactly one", toks, err)
	}
	cancel()
	for range ips {
		if err := <-errs; err != nil && ctx.Err() == nil {
			t.Errorf("member: %v", err)
		}
	}
}

func countTenantTokens(toks []fsm.APIToken, tenant string) int {
	n := 0
	for _, t := range toks {
		if t.Tenant == tenant {
			n++
		}
	}
	return n
}
