package hypervisor_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vela-appliance/vela/cluster/agent/hypervisor"
	"github.com/vela-appliance/vela/cluster/agent/hypervisor/hvtest"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// testDomain is a minimal domain of libvirt's built-in test driver.
func testDomain(name string) string {
	return fmt.Sprintf(`<domain type='test'><name>%s</name><memory unit='MiB'>64</memory>
<os><type>hvm</type></os></domain>`, name)
}

// lxcDomain is the smallest LXC domain: a process sharing the host's root.
// lxcDomain is a minimal LXC domain. Its UUID follows from its name, so
// defining it again updates it instead of clashing with a new random UUID.
func lxcDomain(name string) string {
	sum := sha256.Sum256([]byte(name))
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return fmt.Sprintf(`<domain type='lxc'><name>%s</name><uuid>%s</uuid><memory unit='MiB'>64</memory>
<os><type>exe</type><init>/bin/sleep</init><initarg>600</initarg></os>
<devices><console type='pty'/></devices></domain>`, name, uuid)
}

func names(ds []hypervisor.Domain) map[string]hypervisor.State {
	m := map[string]hypervisor.State{}
	for _, d := range ds {
		m[d.Name] = d.State
	}
	return m
}

// TestLifecycle runs the same define/start/list/stop/undefine sequence
// against libvirt's test driver and the real LXC driver.
func TestLifecycle(t *testing.T) {
	d := hvtest.Start(t)
	for _, tc := range []struct {
		uri    string
		domain func(string) string
	}{
		{"test:///default", testDomain},
		{"lxc:///system", lxcDomain},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			ctx := ctxT(t, time.Minute)
			c := hypervisor.New(hypervisor.Config{Socket: d.Socket, URI: tc.uri})
			t.Cleanup(func() { c.Close() })
			t.Cleanup(func() { _ = c.Undefine(context.Background(), "vela-t1") })

			info, err := c.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.CPUs < 1 || info.MemoryBytes == 0 || info.LibvirtVersion == "0.0.0" {
				t.Errorf("host info looks empty: %+v", info)
			}
			before, err := c.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			dom, err := c.Define(ctx, tc.domain("vela-t1"))
			if err != nil {
				t.Fatal(err)
			}
			if dom.Name != "vela-t1" || len(dom.UUID) != 36 {
				t.Errorf("Define returned %+v", dom)
			}
			if err := c.Start(ctx, "vela-t1"); err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx, "vela-t1"); err != nil {
				t.Fatalf("second Start must be a no-op: %v", err)
			}
			got, err := c.Get(ctx, "vela-t1")
			if err != nil || got.State != hypervisor.Running {
				t.Fatalf("Get after Start = %+v, %v; want running", got, err)
			}
			after, err := c.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := names(before)
			want["vela-t1"] = hypervisor.Running
			if diff := cmp.Diff(want, names(after)); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
			x, err := c.XML(ctx, "vela-t1")
			if err != nil || len(x) == 0 {
				t.Errorf("XML = %d bytes, %v", len(x), err)
			}
			if err := c.Stop(ctx, "vela-t1"); err != nil {
				t.Fatal(err)
			}
			if err := c.Stop(ctx, "vela-t1"); err != nil {
				t.Fatalf("second Stop must be a no-op: %v", err)
			}
			if got, _ := c.Get(ctx, "vela-t1"); got.State != hypervisor.Shutoff {
				t.Errorf("state after Stop = %q, want shutoff", got.State)
			}
			if err := c.Undefine(ctx, "vela-t1"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(ctx, "vela-t1"); !errors.Is(err, hypervisor.ErrNotFound) {
				t.Errorf("Get after Undefine: %v, want ErrNotFound", err)
			}
			if err := c.Start(ctx, "vela-t1"); !errors.Is(err, hypervisor.ErrNotFound) {
				t.Errorf("Start of a missing domain: %v, want ErrNotFound", err)
			}
			if err := c.Undefine(ctx, "vela-t1"); err != nil {
				t.Errorf("Undefine of a missing domain must be a no-op: %v", err)
			}
		})
	}
}

// TestReconnect restarts libvirtd under a running LXC domain: the client
// must reconnect by itself and still see the domain running.
func TestReconnect(t *testing.T) {
	d := hvtest.Start(t)
	ctx := ctxT(t, 2*time.Minute)
	c := hypervisor.New(hypervisor.Config{Socket: d.Socket})
	t.Cleanup(func() { c.Close() })
	if _, err := c.Define(ctx, lxcDomain("vela-r1")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Undefine(context.Background(), "vela-r1") })
	if err := c.Start(ctx, "vela-r1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "vela-r1")
	if err != nil {
		t.Fatalf("Get after libvirtd restart: %v", err)
	}
	if got.State != hypervisor.Running {
		t.Errorf("domain state after libvirtd restart = %q, want running", got.State)
	}
}

// TestDeadline: a socket that accepts but never answers must not hang a call.
func TestDeadline(t *testing.T) {
	dir := t.TempDir()
	sock := dir + "/silent.sock"
	l, err := listenSilent(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := hypervisor.New(hypervisor.Config{Socket: sock, CallTimeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = c.List(context.Background())
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List on a silent libvirtd: %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("List took %v, want about the 300ms call timeout", el)
	}
}

// TestNoDaemon: a missing socket gives an error that says what to do.
func TestNoDaemon(t *testing.T) {
	c := hypervisor.New(hypervisor.Config{Socket: t.TempDir() + "/none.sock"})
	_, err := c.List(context.Background())
	if err == nil {
		t.Fatal("List without libvirtd succeeded")
	}
	for _, want := range []string{"list domains", "none.sock", "is libvirtd running"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestWatch: lifecycle events arrive by domain name, and a libvirtd restart
// ends the watch with ErrWatchLost so that the caller resubscribes.
func TestWatch(t *testing.T) {
	d := hvtest.Start(t)
	ctx := ctxT(t, time.Minute)
	c := hypervisor.New(hypervisor.Config{Socket: d.Socket})
	t.Cleanup(func() { c.Close() })
	events := make(chan string, 16)
	done := make(chan error, 1)
	subscribed := make(chan struct{})
	go func() {
		close(subscribed)
		done <- c.Watch(ctx, func(name string) { events <- name })
	}()
	<-subscribed
	t.Cleanup(func() { _ = c.Undefine(context.Background(), "vela-w1") })
	// The subscription may land after the first define: define until seen.
	deadline := time.After(20 * time.Second)
	seen := false
	for !seen {
		if _, err := c.Define(ctx, lxcDomain("vela-w1")); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-events:
			seen = n == "vela-w1"
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no lifecycle event for vela-w1 within 20s")
		}
	}
	if err := c.Start(ctx, "vela-w1"); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-events:
		if n != "vela-w1" {
			t.Errorf("event for %q, want vela-w1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event for the start of vela-w1")
	}
	if err := d.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, hypervisor.ErrWatchLost) {
			t.Errorf("Watch after libvirtd restart = %v, want ErrWatchLost", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Watch did not end when libvirtd restarted")
	}
}
