package hypervisor

import (
	"context"
	"errors"
	"fmt"
)

// ErrWatchLost is returned by Watch when the connection to libvirtd ends.
var ErrWatchLost = errors.New("libvirt event stream lost")

// Watch calls changed with a domain's name on each of its lifecycle events
// (defined, started, stopped, crashed, undefined...) until ctx ends (nil) or
// libvirtd goes away (ErrWatchLost: call Watch again to resubscribe). It uses
// a connection of its own so events never wait behind calls.
func (c *Client) Watch(ctx context.Context, changed func(name string)) error {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	lv, err := c.dial(dctx)
	cancel()
	if err != nil {
		return fmt.Errorf("watch domains: %w", err)
	}
	defer func() { _ = lv.Disconnect() }()
	ectx, stop := context.WithCancel(ctx)
	defer stop()
	ch, err := lv.LifecycleEvents(ectx)
	if err != nil {
		return fmt.Errorf("watch domains: subscribe: %w", err)
	}
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return ErrWatchLost
			}
			changed(ev.Dom.Name)
		case <-lv.Disconnected():
			return ErrWatchLost
		case <-ctx.Done():
			return nil
		}
	}
}
