package steps

import (
	"context"

	"github.com/vela-appliance/vela/installer/lab"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
)

func (e *Env) labNetwork(ctx context.Context, _ plan.Step, _ run.Reporter) error {
	l, err := lab.Open(e.StateDir)
	if err != nil {
		return err
	}
	if err := l.NetworkUp(ctx, e.Config); err != nil {
		return run.Failf("remove what the lab made with `vela lab down`, or pick another lab.bridge / network.address", "%v", err)
	}
	return nil
}

func (e *Env) labVMs(ctx context.Context, _ plan.Step, r run.Reporter) error {
	l, err := lab.Open(e.StateDir)
	if err != nil {
		return err
	}
	n := int64(len(e.Config.Machines))
	var started int64
	err = l.StartVMs(ctx, e.Config, func(vm lab.VM) {
		started++
		r.Machine(vm.Name, "powered-on", vm.Accel+", console "+vm.ConsoleLog())
		r.Progress(started, n, "VMs")
	})
	if err != nil {
		return run.Failf("see the VM's console log under "+e.StateDir+"/lab/vms/; `vela lab down` removes the lab", "%v", err)
	}
	return nil
}
