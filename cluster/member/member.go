package member

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/vela-appliance/vela/cluster/api"
	"github.com/vela-appliance/vela/cluster/controller"
	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
	"github.com/vela-appliance/vela/cluster/store"
)

// Config configures a member; the fields mirror `vela server` flags.
type Config struct {
	DataDir string
	// ID is the member's Raft ID (default: recorded one, else host name).
	ID string
	// RaftAddr and APIAddr are IP:PORT listen (and advertised) addresses.
	RaftAddr, APIAddr string
	// CAFile is the cluster CA certificate: read to trust the join target;
	// written at bootstrap when it does not exist yet.
	CAFile string
	// CAKeyFile, at bootstrap, adopts an existing CA (with CAFile).
	CAKeyFile string
	Bootstrap bool
	// Join is the API address (IP:PORT) of any member; JoinToken the token.
	Join, JoinToken string
	// JoinTokensFile, at bootstrap, lists join tokens made ahead of time
	// (by the installer, see NewJoinToken) as a JSON array of
	// fsm.JoinToken records (hashes only, no secrets).
	JoinTokensFile string
	// APITokensFile, at bootstrap, lists API tokens made ahead of time (by
	// the installer, which keeps the secret) as a JSON array of
	// fsm.APIToken records (hashes only).
	APITokensFile string
	// AdminTokenFile receives the first admin token at bootstrap
	// (default DATA_DIR/admin-token).
	AdminTokenFile string
	// LogStore is wal (default) or bolt.
	LogStore string
	Logger   *slog.Logger
	// Ready, if set, is closed once the member serves its API.
	Ready chan<- struct{}
	// HeartbeatInterval is the agents' heartbeat interval the API judges
	// hypervisors unreachable by (default 10 s; tests shorten it).
	HeartbeatInterval time.Duration
	// NodePool is the IPv4 prefix tenant node subnets are cut from
	// (default controller.DefaultPool, 10.200.0.0/16).
	NodePool string
	// Boot, if set, runs the day-2 boot services while this member leads.
	Boot *BootConfig
	// RaftTimeout, if set, is the Raft heartbeat and election timeout and
	// leader lease (default 600 ms, for a LAN of real servers; emulated
	// machines need seconds).
	RaftTimeout time.Duration
}

// Member is one running control plane member.
type Member struct {
	cfg Config
	log *slog.Logger
}

// New checks the config.
func New(cfg Config) (*Member, error) {
	switch {
	case cfg.DataDir == "":
		return nil, errors.New("--data-dir is required")
	case cfg.RaftAddr == "" || cfg.APIAddr == "":
		return nil, errors.New("--raft-addr and --api-addr are required (IP:PORT each)")
	case cfg.Bootstrap && cfg.Join != "":
		return nil, errors.New("--bootstrap and --join exclude each other: bootstrap the first member, join the others")
	case cfg.Join != "" && cfg.CAFile == "":
		return nil, errors.New("--join needs --ca-file (the cluster CA certificate) to trust the member it joins through")
	}
	for _, a := range []string{cfg.RaftAddr, cfg.APIAddr} {
		if host, _, err := net.SplitHostPort(a); err != nil || net.ParseIP(host) == nil || net.ParseIP(host).IsUnspecified() {
			return nil, fmt.Errorf("address %q: want IP:PORT with an IP the other members can reach", a)
		}
	}
	if err := checkBoot(cfg.Boot); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AdminTokenFile == "" {
		cfg.AdminTokenFile = filepath.Join(cfg.DataDir, "admin-token")
	}
	return &Member{cfg: cfg, log: cfg.Logger}, nil
}

// Run serves until ctx ends, then shuts down gracefully.
func (m *Member) Run(ctx context.Context) error {
	id, err := memberID(m.cfg.DataDir, m.cfg.ID)
	if err != nil {
		return err
	}
	m.cfg.ID = id
	m.log = m.log.With("member", id)
	hasState, err := store.HasState(m.cfg.LogStore, m.cfg.DataDir)
	if err != nil {
		return err
	}
	var fresh string // "bootstrap", "join" or "" (restart)
	switch {
	case hasState:
		if err := m.checkRestart(ctx); err != nil {
			return err
		}
		m.log.Info("restarting from the data dir", "data_dir", m.cfg.DataDir)
	case m.cfg.Bootstrap:
		fresh = "bootstrap"
		if err := m.prepareBootstrap(); err != nil {
			return err
		}
	case m.cfg.Join != "":
		fresh = "join"
		if err := m.prepareJoin(ctx); err != nil {
			return err
		}
	default:
		return fmt.Errorf("data dir %s holds no cluster: pass --bootstrap (first member) or --join IP:8443 --token-file F", m.cfg.DataDir)
	}

	cert, err := m.loadMemberCert()
	if err != nil {
		return err
	}
	ca, err := pki.LoadCA(filepath.Join(m.cfg.DataDir, pkiDir))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	srvTLS, cliTLS := pki.MemberTLS(pool, cert)
	trans, err := store.NewTLSTransport(store.TLSTransportConfig{Bind: m.cfg.RaftAddr, Server: srvTLS, Client: cliTLS})
	if err != nil {
		return err
	}
	var ctl atomic.Pointer[controller.Controller]
	f := fsm.New(fsm.Config{Logger: m.log, OnApply: func(i uint64) {
		if c := ctl.Load(); c != nil {
			c.Notify(i)
		}
	}})
	st, err := store.Open(store.Config{DataDir: m.cfg.DataDir, ID: m.cfg.ID, Transport: trans, FSM: f, LogStore: m.cfg.LogStore, Logger: m.log,
		HeartbeatTimeout: m.cfg.RaftTimeout, ElectionTimeout: m.cfg.RaftTimeout})
	if err != nil {
		trans.Close()
		return err
	}
	shutdownStore := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := st.Shutdown(sctx); err != nil {
			m.log.Warn("raft shutdown", "err", err)
		}
	}
	if fresh == "bootstrap" {
		if err := m.bootstrap(ctx, st, ca); err != nil {
			shutdownStore()
			return err
		}
	}
	s, err := api.New(api.Config{Raft: st, FSM: f, CA: ca, Pool: pool, ForwardTLS: pki.ClientTLS(pool, &cert), DataDir: m.cfg.DataDir, Logger: m.log, HeartbeatInterval: m.cfg.HeartbeatInterval})
	if err != nil {
		shutdownStore()
		return err
	}
	ln, err := tls.Listen("tcp", m.cfg.APIAddr, pki.APIServerTLS(pool, cert))
	if err != nil {
		shutdownStore()
		return fmt.Errorf("listen for the API on %s: %w", m.cfg.APIAddr, err)
	}
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelDebug)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	m.log.Info("serving", "api", m.cfg.APIAddr, "raft", m.cfg.RaftAddr)

	if fresh == "join" {
		if err := m.addSelf(ctx, cert); err != nil {
			_ = hs.Close()
			shutdownStore()
			return err
		}
	}
	c, err := controller.New(controller.Config{Proposer: st, State: f, Pool: m.cfg.NodePool, Logger: m.log, Actor: "controller:" + m.cfg.ID, HeartbeatInterval: m.cfg.HeartbeatInterval})
	if err != nil {
		_ = hs.Close()
		shutdownStore()
		return err
	}
	ctl.Store(c)
	ctlDone := make(chan struct{})
	lctx, stopLead := context.WithCancel(ctx)
	go func() { defer close(ctlDone); m.leadController(lctx, st, c) }()
	stopCtl := func() { stopLead(); <-ctlDone }
	defer stopCtl()
	bctx, stopBoot := context.WithCancel(ctx)
	bootDone := make(chan struct{})
	go func() { defer close(bootDone); m.leadBoot(bctx, st, f) }()
	defer func() { stopBoot(); <-bootDone }()
	if m.cfg.Ready != nil {
		close(m.cfg.Ready)
	}
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		m.log.Error("API server stopped", "err", err)
	}
	m.log.Info("shutting down")
	stopCtl()
	shutdownStore() // hands leadership over first
	hctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = hs.Shutdown(hctx)
	return err
}

// leadController runs the cluster controller while this member is the
// Raft leader: started when it gains leadership, after every entry
// committed before is applied here (a barrier: a controller on a stale
// view would redo what the old leader's did), stopped when it loses it.
func (m *Member) leadController(ctx context.Context, st *store.Store, c *controller.Controller) {
	whileLeader(ctx, st.IsLeader, st.Raft(), time.Second, m.log, "cluster controller", func(ctx context.Context) error {
		if _, err := st.ReadIndex(ctx); err != nil {
			return err
		}
		return c.Run(ctx)
	})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
