package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/vela-appliance/vela/installer/config"
)

// Lab is the lab of one install, kept under STATE_DIR/lab.
type Lab struct {
	dir    string
	ledger *ledger
}

// Open opens (or starts) the lab record in stateDir.
func Open(stateDir string) (*Lab, error) {
	dir := filepath.Join(stateDir, "lab")
	l, err := openLedger(dir)
	if err != nil {
		return nil, fmt.Errorf("lab state in %s: %w", dir, err)
	}
	return &Lab{dir: dir, ledger: l}, nil
}

// NetworkFor returns the lab network of a config.
func NetworkFor(c *config.Config) (Network, error) {
	p, err := netip.ParsePrefix(c.Network.Address)
	if err != nil {
		return Network{}, err
	}
	return Network{Bridge: c.Lab.Bridge, Address: p}, nil
}

// NetworkUp creates the lab bridge (idempotent).
func (l *Lab) NetworkUp(ctx context.Context, c *config.Config) error {
	n, err := NetworkFor(c)
	if err != nil {
		return err
	}
	return n.Up(ctx, l.ledger)
}

// VMsFor returns the VMs of a config, one per machine, with accel resolved.
func (l *Lab) VMsFor(c *config.Config, accel, qemu string) []VM {
	var vms []VM
	for i, m := range c.Machines {
		vms = append(vms, VM{
			Name: m.Name, MAC: m.MAC, UUID: m.UUID, Memory: int64(c.Lab.Memory), CPUs: c.Lab.CPUs,
			Accel: accel, Firmware: c.Lab.Firmware, Tap: TapName(c.Lab.Bridge, i+1),
			Dir: filepath.Join(l.dir, "vms", m.Name), Qemu: qemu, DataDisk: m.DataDisk != "",
		})
	}
	return vms
}

// StartVMs powers on every VM of the config that is not running yet.
func (l *Lab) StartVMs(ctx context.Context, c *config.Config, onStart func(vm VM)) error {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return fmt.Errorf("qemu-system-x86_64 not found: apt-get install -y qemu-system-x86 ipxe-qemu ovmf")
	}
	accel, err := ResolveAccel(ctx, qemu, c.Lab.Accel)
	if err != nil {
		return err
	}
	n, err := NetworkFor(c)
	if err != nil {
		return err
	}
	for _, vm := range l.VMsFor(c, accel, qemu) {
		if err := n.AddTap(ctx, l.ledger, vm.Tap); err != nil {
			return err
		}
		if err := os.MkdirAll(vm.Dir, 0o700); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(vm, "", "  ")
		if err := os.WriteFile(filepath.Join(vm.Dir, "vm.json"), b, 0o600); err != nil {
			return err
		}
		if err := vm.Start(ctx); err != nil {
			return err
		}
		if onStart != nil {
			onStart(vm)
		}
	}
	return nil
}

// recordedVMs reads the VMs the lab started, from their vm.json files.
func (l *Lab) recordedVMs() ([]VM, error) {
	files, err := filepath.Glob(filepath.Join(l.dir, "vms", "*", "vm.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var vms []VM
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var vm VM
		if err := json.Unmarshal(b, &vm); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		vms = append(vms, vm)
	}
	return vms, nil
}

// VMStatus is one VM as `vela lab status` shows it.
type VMStatus struct {
	Name, MAC, Accel, Firmware, Console string
	PID                                 int
	Running                             bool
}

// Status is the lab as it is on the host now.
type Status struct {
	Bridge   string
	BridgeUp bool
	Owned    Owned
	VMs      []VMStatus
}

// Status reads the lab's pieces from the host.
func (l *Lab) Status() (Status, error) {
	o := l.ledger.owned()
	st := Status{Bridge: o.Bridge, Owned: o}
	if o.Bridge != "" {
		if ifi, err := net.InterfaceByName(o.Bridge); err == nil {
			st.BridgeUp = ifi.Flags&net.FlagUp != 0
		}
	}
	vms, err := l.recordedVMs()
	if err != nil {
		return st, err
	}
	for _, vm := range vms {
		pid, ok := vm.PID()
		st.VMs = append(st.VMs, VMStatus{Name: vm.Name, MAC: vm.MAC, Accel: vm.Accel, Firmware: vm.Firmware,
			Console: vm.ConsoleLog(), PID: pid, Running: ok})
	}
	return st, nil
}

// Down stops every VM the lab started and removes the taps, bridge and
// iptables rules it created, then its records. It touches nothing else.
func (l *Lab) Down(ctx context.Context) error {
	vms, err := l.recordedVMs()
	if err != nil {
		return err
	}
	var errs []error
	for _, vm := range vms {
		if err := vm.Stop(ctx, 5*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("stopping lab VM %s: %w", vm.Name, err))
		}
	}
	if err := removeNetwork(ctx, l.ledger); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		errs = append(errs, os.RemoveAll(filepath.Join(l.dir, "vms")))
	}
	return errors.Join(errs...)
}
