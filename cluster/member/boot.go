package member

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/store"
	"github.com/vela-appliance/vela/ignition"
	"github.com/vela-appliance/vela/images"
	"github.com/vela-appliance/vela/images/nodeimage"
	"github.com/vela-appliance/vela/pxe/cpinventory"
	"github.com/vela-appliance/vela/pxe/serve"
)

// BootConfig turns on day-2 network boot: the leader serves DHCP (in the
// stored install config's mode), TFTP and HTTP boot on Interface, from the
// replicated machines table (`vela server --boot-interface`).
type BootConfig struct {
	// Interface is this member's interface on the boot network; it must
	// have an IPv4 address inside the install config's network.address.
	// "auto" picks the interface that has one (ignition renders that).
	Interface string
	// ImagesDir is the image store (IMAGE/current/ARTIFACT); custom image
	// paths in the install config are relative to it.
	ImagesDir string
	// StateDir holds leases and the local boot records (default
	// DATA_DIR/pxe).
	StateDir string
	// TFTPRoot holds the iPXE binaries ("" locates Debian's).
	TFTPRoot string
	// VelaBinary is served to machines ("" serves this executable).
	VelaBinary string
	// NoRA turns off IPv6 router advertisements.
	NoRA bool
}

// bootRetry is how long a failed boot service start waits before retrying.
const bootRetry = 5 * time.Second

// raftCluster is cpinventory's view of this member: the local FSM (fresh
// on the leader) and Raft to commit.
type raftCluster struct {
	st *store.Store
	f  *fsm.FSM
}

func (c raftCluster) View(fn func(*fsm.State)) { c.f.View(fn) }

func (c raftCluster) Propose(ctx context.Context, t fsm.Type, body any) (fsm.Result, error) {
	b, err := fsm.Encode(t, body)
	if err != nil {
		return fsm.Result{}, err
	}
	res, err := c.st.Apply(ctx, b)
	if err == nil {
		err = res.Err
	}
	return res, err
}

// observers is where leadership changes are observed (*raft.Raft).
type observers interface {
	RegisterObserver(*raft.Observer)
	DeregisterObserver(*raft.Observer)
}

// whileLeader runs task whenever this member leads: started on gaining
// leadership, its context cancelled on losing it (seen through Raft's
// leader observations, and checked every second besides); a task that
// fails is started again after retry. It returns when ctx ends, after
// the task has stopped.
func whileLeader(ctx context.Context, isLeader func() bool, reg observers, retry time.Duration, log *slog.Logger, name string, task func(context.Context) error) {
	obsCh := make(chan raft.Observation, 8)
	obs := raft.NewObserver(obsCh, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	reg.RegisterObserver(obs)
	defer reg.DeregisterObserver(obs)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var (
		run     *leaderRun
		retryAt time.Time
	)
	stop := func() {
		if run != nil {
			run.cancel()
			<-run.done
			run = nil
			log.Info(name + " stopped")
		}
	}
	defer stop()
	for {
		leader := isLeader()
		switch {
		case leader && run == nil && !time.Now().Before(retryAt):
			log.Info("this member leads: starting " + name)
			run = startLeaderRun(ctx, task)
		case !leader:
			stop()
		}
		var done <-chan error
		if run != nil {
			done = run.done
		}
		select {
		case <-ctx.Done():
			return
		case <-obsCh:
		case <-tick.C:
		case err := <-done:
			run.cancel()
			run = nil
			if err != nil && ctx.Err() == nil {
				log.Error(name+" failed; retrying", "err", err, "retry_in", retry)
				retryAt = time.Now().Add(retry)
			}
		}
	}
}

// leaderRun is one run of a leader task.
type leaderRun struct {
	cancel context.CancelFunc
	done   chan error
}

func startLeaderRun(ctx context.Context, task func(context.Context) error) *leaderRun {
	tctx, cancel := context.WithCancel(ctx)
	r := &leaderRun{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- task(tctx) }()
	return r
}

// leadBoot runs the boot services (when configured) while this member
// leads, until ctx ends.
func (m *Member) leadBoot(ctx context.Context, st *store.Store, f *fsm.FSM) {
	if m.cfg.Boot != nil {
		whileLeader(ctx, st.IsLeader, st.Raft(), bootRetry, m.log, "boot services", m.bootTask(st, f))
	}
}

// bootTask runs the boot services on the leader until ctx ends or the
// stored install config changes (then whileLeader starts them again).
func (m *Member) bootTask(st *store.Store, f *fsm.FSM) func(context.Context) error {
	var memo hashMemo // kept across runs: the node image is hashed again only when it changed
	return func(ctx context.Context) error {
		bc := *m.cfg.Boot
		log := m.log.With("service", "boot")
		ic, err := waitInstallConfig(ctx, f, log)
		if err != nil || ic == nil {
			return err
		}
		c, err := cpinventory.ParseConfig([]byte(ic.YAML))
		if err != nil {
			return err
		}
		apiHost, _, _ := net.SplitHostPort(m.cfg.APIAddr)
		prefer, _ := netip.ParseAddr(apiHost)
		iface, addr, err := bootAddressFrom(systemIfaces, bc.Interface, c.Network.Address, prefer)
		if err != nil {
			return err
		}
		if iface != bc.Interface {
			log.Info("boot interface chosen", "interface", iface, "address", addr)
		}
		run := *c
		run.Network.Interface, run.Network.Address = iface, addr.String()
		if bc.StateDir == "" {
			bc.StateDir = filepath.Join(m.cfg.DataDir, "pxe")
		}
		if bc.VelaBinary == "" {
			if bc.VelaBinary, err = os.Executable(); err != nil {
				return err
			}
		}
		h, err := hashBootFiles(bc, c.OS.Image, &memo, log)
		if err != nil {
			return err
		}
		bootURL := "http://" + net.JoinHostPort(addr.Addr().String(), strconv.Itoa(run.Network.Ports.HTTP))
		inv, err := cpinventory.New(h.inventoryConfig(raftCluster{st, f}, m.cfg.ID, bootURL, addr, log))
		if err != nil {
			return err
		}
		svc, err := serve.New(serve.Config{Install: &run, ConfigDir: bc.ImagesDir, StateDir: bc.StateDir, ImagesDir: bc.ImagesDir,
			TFTPRoot: bc.TFTPRoot, VelaBinary: bc.VelaBinary, NoRA: bc.NoRA, Inventory: inv, Configs: inv, Leases: inv, OnState: inv.OnState, Logger: log})
		if err != nil {
			return err
		}
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- svc.Run(sctx) }()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case err := <-errc:
				return err
			case <-t.C:
				var now uint64
				f.View(func(s *fsm.State) {
					if s.InstallConfig != nil {
						now = s.InstallConfig.ModifyIndex
					}
				})
				if now != ic.ModifyIndex {
					log.Info("the install config changed: restarting the boot services")
					cancel()
					<-errc
					return nil
				}
			}
		}
	}
}

// bootHashes are the hashes of the files this member serves that the
// configs it renders check them against.
type bootHashes struct {
	vela string // hex sha512 of the vela binary (/vela/vela)
	// bootImage are members' day-2 boot files (nil: members booting from
	// here render without day-2 boot).
	bootImage *ignition.BootImage
	// nodeImage is the hex sha512 of the packed node image
	// (/images/node/rootfs) hypervisors fetch; "" none.
	nodeImage string
}

// hashBootFiles hashes the files this member serves: the vela binary (an
// error without it), members' day-2 boot images and the node image (a
// warning saying what to do without them: the machines then boot, but
// members serve no day-2 boot in turn, hypervisors run no nodes).
func hashBootFiles(bc BootConfig, image string, memo *hashMemo, log *slog.Logger) (bootHashes, error) {
	var (
		h   bootHashes
		err error
	)
	if h.vela, err = ignition.HashFile(bc.VelaBinary); err != nil {
		return bootHashes{}, err
	}
	// Members (re)booting from here get day-2 boot too, from these images.
	if h.bootImage, err = serve.BootImage(bc.ImagesDir, image, bc.TFTPRoot); err != nil {
		log.Warn("members booting from this member will not serve day-2 boot", "err", err)
	}
	// Hypervisors booting from here get the node image this member keeps
	// (its Ignition config fetched it to ignition.NodeImagePath).
	want := filepath.Join(bc.ImagesDir, ignition.NodeImageFile)
	p := serve.NodeImage(bc.ImagesDir)
	if p == "" {
		log.Warn("no node image to serve: hypervisors booting from this member get none and cannot start nodes; copy the packed node image "+
			"(on the seed: "+filepath.Join(images.DefaultStoreDir, "node", "current", nodeimage.Packed)+") to "+want+
			" on every member, then restart vela-server on the leader", "missing", want)
		return h, nil
	}
	start := time.Now()
	if h.nodeImage, err = memo.hash(p); err != nil {
		log.Warn("the node image cannot be read: hypervisors booting from this member get none and cannot start nodes; "+
			"fix or copy it again (packed node image, 0644), then restart vela-server on the leader", "path", p, "err", err)
		return h, nil
	}
	log.Info("serving the node image to hypervisors", "path", p, "sha512", h.nodeImage, "hashed_in", time.Since(start).Round(time.Millisecond))
	return h, nil
}

// hashMemo remembers the sha512 of one file (ignition.HashFile: ~1 s for
// 300 MiB) while its path, size and modification time stay the same, so
// that boot services restarted on the same member (a retry, a changed
// install config, leading again) do not hash the node image again.
type hashMemo struct {
	path string
	size int64
	mod  time.Time
	sum  string
}

func (m *hashMemo) hash(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if m.sum != "" && m.path == p && m.size == st.Size() && m.mod.Equal(st.ModTime()) {
		return m.sum, nil
	}
	sum, err := ignition.HashFile(p)
	if err != nil {
		return "", err
	}
	*m = hashMemo{path: p, size: st.Size(), mod: st.ModTime(), sum: sum}
	return sum, nil
}

// inventoryConfig is the configuration of the inventory that renders the
// configs of the machines booting from this member, carrying the hashes.
func (h bootHashes) inventoryConfig(cl cpinventory.Cluster, member, bootURL string, addr netip.Prefix, log *slog.Logger) cpinventory.Config {
	return cpinventory.Config{Cluster: cl, Member: member, BootURL: bootURL, BootAddress: addr,
		VelaSHA512: h.vela, BootImage: h.bootImage, NodeImageSHA512: h.nodeImage, Logger: log}
}

// waitInstallConfig waits (polling the local state) until an install
// config is stored; nil when ctx ends first.
func waitInstallConfig(ctx context.Context, f *fsm.FSM, log *slog.Logger) (*fsm.InstallConfig, error) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for said := false; ; said = true {
		var ic *fsm.InstallConfig
		f.View(func(s *fsm.State) { ic = s.InstallConfig })
		if ic != nil {
			return ic, nil
		}
		if !said {
			log.Warn("no install config stored yet; the boot services start once it is (the installer stores it at handover, or PUT /v1/install-config)")
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-t.C:
		}
	}
}

// checkBoot validates the boot flags before anything starts.
func checkBoot(b *BootConfig) error {
	if b == nil {
		return nil
	}
	if b.Interface == "" {
		return errors.New("--boot-images needs --boot-interface (the interface on the boot network)")
	}
	if b.ImagesDir == "" {
		return errors.New("--boot-interface needs --boot-images (the image store, e.g. /var/lib/vela/images)")
	}
	return nil
}
