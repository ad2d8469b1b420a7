package lab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vela-appliance/vela/installer/config"
)

// need skips when a part is missing, but only outside CI: in CI it fails.
func need(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, p := range []string{"qemu-system-x86_64", "ip", "iptables"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI needs %v (make deps installs them)", missing)
	}
	t.Skipf("needs %v; run as root after make deps", missing)
}

// testConfig is a one-VM lab on a bridge and /24 unique to this test run.
func testConfig(t *testing.T, firmware string) *config.Config {
	n := os.Getpid() % 200
	bridge := fmt.Sprintf("vtl%d", os.Getpid()%100000)
	yaml := fmt.Sprintf(`version: 1
network: {address: 10.251.%d.1/24, dhcp: {mode: full, pool: 10.251.%d.100-10.251.%d.120}}
lab: {count: 1, bridge: %s, memory: 1GiB, cpus: 1, accel: auto, firmware: %s}
`, n, n, n, bridge, firmware)
	cfg, _, diags := config.Parse("t.yaml", []byte(yaml))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	return cfg
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
}

func TestTapName(t *testing.T) {
	for _, b := range []string{"vela-lab0", "a-very-long-bridge"} {
		if n := TapName(b, 9); len(n) > 15 {
			t.Errorf("%s: %q is longer than 15", b, n)
		}
	}
}

func TestKVMProbeAnswers(t *testing.T) {
	need(t)
	start := time.Now()
	ok, err := KVMWorks(context.Background(), "qemu-system-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("KVM runs guests here: %v (probe took %s)", ok, time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat("/dev/kvm"); err != nil && ok {
		t.Error("KVM reported working without /dev/kvm")
	}
	if acc, err := ResolveAccel(context.Background(), "qemu-system-x86_64", "tcg"); err != nil || acc != "tcg" {
		t.Errorf("tcg resolved to %q, %v", acc, err)
	}
}

// TestVMNetworkBootsAndDownRemovesAll powers on a lab VM for each firmware
// and watches its console until iPXE (from Debian's ipxe-qemu ROM) starts
// network-booting on the lab bridge; then Down must remove every VM, tap,
// bridge and iptables rule it made, and nothing else.
func TestVMNetworkBootsAndDownRemovesAll(t *testing.T) {
	need(t)
	for _, fw := range []string{"bios", "uefi"} {
		t.Run(fw, func(t *testing.T) {
			cfg := testConfig(t, fw)
			ctx := context.Background()
			l, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Down(context.Background()) })
			rulesBefore := iptablesRules(t, cfg.Lab.Bridge)
			if err := l.NetworkUp(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			if err := l.NetworkUp(ctx, cfg); err != nil {
				t.Fatalf("second NetworkUp (resume) failed: %v", err)
			}
			var started []VM
			if err := l.StartVMs(ctx, cfg, func(vm VM) { started = append(started, vm) }); err != nil {
				t.Fatal(err)
			}
			if err := l.StartVMs(ctx, cfg, nil); err != nil { // idempotent: no second qemu
				t.Fatal(err)
			}
			vm := started[0]
			pid, ok := vm.PID()
			if !ok {
				t.Fatal("VM not running")
			}
			waitFor(t, "iPXE on the console", 90*time.Second, func() bool {
				b, _ := os.ReadFile(vm.ConsoleLog())
				return bytes.Contains(b, []byte("iPXE"))
			})
			st, err := l.Status()
			if err != nil || len(st.VMs) != 1 || !st.VMs[0].Running || st.VMs[0].PID != pid || !st.BridgeUp {
				t.Fatalf("status %+v %v", st, err)
			}

			if err := l.Down(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				if strings.Contains(string(b), "vela-lab:") {
					t.Error("VM still running after Down")
				}
			}
			for _, ifname := range []string{cfg.Lab.Bridge, vm.Tap} {
				if _, err := net.InterfaceByName(ifname); err == nil {
					t.Errorf("%s still exists after Down", ifname)
				}
			}
			if after := iptablesRules(t, cfg.Lab.Bridge); after != rulesBefore {
				t.Errorf("iptables changed:\nbefore:\n%s\nafter:\n%s", rulesBefore, after)
			}
		})
	}
}

// TestForeignInterfaceUntouched: an interface of the bridge's name that the
// lab did not create is refused, and survives Down.
func TestForeignInterfaceUntouched(t *testing.T) {
	need(t)
	cfg := testConfig(t, "bios")
	if out, err := exec.Command("ip", "link", "add", cfg.Lab.Bridge, "type", "bridge").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", cfg.Lab.Bridge).Run() })
	l, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = l.NetworkUp(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "is not the lab's") {
		t.Fatalf("got %v", err)
	}
	if err := l.Down(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := net.InterfaceByName(cfg.Lab.Bridge); err != nil {
		t.Error("Down removed an interface the lab did not create")
	}
}

// iptablesRules lists the FORWARD rules that name one of ifnames (other
// tests running at the same time add rules for their own bridges).
func iptablesRules(t *testing.T, ifnames ...string) string {
	out, err := exec.Command("iptables", "-S", "FORWARD").Output()
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, n := range ifnames {
			if strings.Contains(line, " "+n+" ") || strings.HasSuffix(line, " "+n) {
				mine = append(mine, line)
				break
			}
		}
	}
	return strings.Join(mine, "\n")
}
