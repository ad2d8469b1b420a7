package hypervisor

import (
	"context"
	"errors"
	"fmt"

	libvirt "github.com/digitalocean/go-libvirt"
)

// Define creates or replaces the persistent definition of a domain from its
// XML and returns it (a running domain keeps running with its old config).
func (c *Client) Define(ctx context.Context, xml string) (Domain, error) {
	var d libvirt.Domain
	err := c.call(ctx, "define domain", true, func(lv *libvirt.Libvirt) error {
		var err error
		d, err = lv.DomainDefineXML(xml)
		return err
	})
	if err != nil {
		return Domain{}, err
	}
	return Domain{Name: d.Name, UUID: uuidString(d.UUID), State: Shutoff}, nil
}

// Start boots a defined domain. Starting a running domain is not an error.
func (c *Client) Start(ctx context.Context, name string) error {
	return c.onDomain(ctx, "start", name, func(lv *libvirt.Libvirt, d libvirt.Domain) error {
		st, _, err := lv.DomainGetState(d, 0)
		if err != nil {
			return err
		}
		if libvirt.DomainState(st) == libvirt.DomainRunning {
			return nil
		}
		return lv.DomainCreate(d)
	})
}

// Stop powers a domain off at once (virsh destroy); its definition stays.
// Stopping a stopped domain is not an error.
func (c *Client) Stop(ctx context.Context, name string) error {
	return c.onDomain(ctx, "stop", name, func(lv *libvirt.Libvirt, d libvirt.Domain) error {
		err := lv.DomainDestroy(d)
		if libvirt.IsNotFound(err) || isNotRunning(err) {
			return nil
		}
		return err
	})
}

// Undefine removes a domain's definition, stopping it first if it runs.
// Undefining a domain that does not exist is not an error.
func (c *Client) Undefine(ctx context.Context, name string) error {
	err := c.onDomain(ctx, "undefine", name, func(lv *libvirt.Libvirt, d libvirt.Domain) error {
		if err := lv.DomainDestroy(d); err != nil && !libvirt.IsNotFound(err) && !isNotRunning(err) {
			return err
		}
		err := lv.DomainUndefine(d)
		if libvirt.IsNotFound(err) {
			return nil
		}
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Get returns one domain, or ErrNotFound.
func (c *Client) Get(ctx context.Context, name string) (Domain, error) {
	var out Domain
	err := c.onDomain(ctx, "get", name, func(lv *libvirt.Libvirt, d libvirt.Domain) error {
		st, _, err := lv.DomainGetState(d, 0)
		if err != nil {
			return err
		}
		out = Domain{Name: d.Name, UUID: uuidString(d.UUID), State: state(libvirt.DomainState(st))}
		return nil
	})
	return out, err
}

// XML returns a domain's current XML description.
func (c *Client) XML(ctx context.Context, name string) (string, error) {
	var out string
	err := c.onDomain(ctx, "describe", name, func(lv *libvirt.Libvirt, d libvirt.Domain) error {
		var err error
		out, err = lv.DomainGetXMLDesc(d, 0)
		return err
	})
	return out, err
}

// List returns every domain of the driver, running or not.
func (c *Client) List(ctx context.Context) ([]Domain, error) {
	var out []Domain
	err := c.call(ctx, "list domains", true, func(lv *libvirt.Libvirt) error {
		out = out[:0]
		ds, _, err := lv.ConnectListAllDomains(1, libvirt.ConnectListDomainsActive|libvirt.ConnectListDomainsInactive)
		if err != nil {
			return err
		}
		for _, d := range ds {
			st, _, err := lv.DomainGetState(d, 0)
			if libvirt.IsNotFound(err) {
				continue // undefined while we listed
			}
			if err != nil {
				return err
			}
			out = append(out, Domain{Name: d.Name, UUID: uuidString(d.UUID), State: state(libvirt.DomainState(st))})
		}
		return nil
	})
	return out, err
}

// Info returns the host's CPUs, memory and versions.
func (c *Client) Info(ctx context.Context) (HostInfo, error) {
	var hi HostInfo
	err := c.call(ctx, "host info", true, func(lv *libvirt.Libvirt) error {
		_, memKiB, cpus, _, _, _, _, _, err := lv.NodeGetInfo()
		if err != nil {
			return err
		}
		lib, err := lv.ConnectGetLibVersion()
		if err != nil {
			return err
		}
		drv, err := lv.ConnectGetVersion()
		if err != nil {
			return err
		}
		hi = HostInfo{CPUs: int(cpus), MemoryBytes: memKiB * 1024,
			LibvirtVersion: version(lib), DriverVersion: version(drv)}
		return nil
	})
	return hi, err
}

// onDomain looks a domain up by name and runs fn on it; a missing domain is
// ErrNotFound.
func (c *Client) onDomain(ctx context.Context, what, name string, fn func(*libvirt.Libvirt, libvirt.Domain) error) error {
	errMissing := fmt.Errorf("domain %q: %w", name, ErrNotFound)
	missing := false
	err := c.call(ctx, what+" domain "+name, true, func(lv *libvirt.Libvirt) error {
		d, err := lv.DomainLookupByName(name)
		if libvirt.IsNotFound(err) {
			missing = true
			return nil
		}
		if err != nil {
			return err
		}
		return fn(lv, d)
	})
	if err == nil && missing {
		return errMissing
	}
	return err
}

func isNotRunning(err error) bool {
	var e libvirt.Error
	return errors.As(err, &e) && e.Code == uint32(libvirt.ErrOperationInvalid)
}

func state(s libvirt.DomainState) State {
	switch s {
	case libvirt.DomainRunning:
		return Running
	case libvirt.DomainShutoff, libvirt.DomainShutdown:
		return Shutoff
	case libvirt.DomainPaused, libvirt.DomainPmsuspended:
		return Paused
	case libvirt.DomainCrashed:
		return Crashed
	case libvirt.DomainNostate, libvirt.DomainBlocked:
		return Starting
	}
	return Other
}

// version decodes libvirt's major*1e6+minor*1e3+release encoding.
func version(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

func uuidString(u libvirt.UUID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
