package dhcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vela-appliance/vela/pxe"
)

// Modes.
const (
	ModeFull  = "full"
	ModeProxy = "proxy"
)

// ProxyPort is the PXE boot server port proxy mode also answers on.
const ProxyPort = 4011

// Config configures a Server.
type Config struct {
	Mode      string       // full or proxy
	Interface string       // boot network interface ("" binds to none: tests)
	ServerIP  netip.Addr   // this server's address on the boot network
	Subnet    netip.Prefix // the boot subnet
	PoolFirst netip.Addr   // full mode: first pool address (invalid: no pool)
	PoolLast  netip.Addr
	Router    netip.Addr // optional
	DNS       []netip.Addr
	LeaseTime time.Duration // default 1h
	// HTTPBase is the HTTP boot server, http://ADDR:PORT; iPXE gets
	// HTTPBase/boot.ipxe?mac=MAC.
	HTTPBase  string
	Inventory pxe.Inventory
	StateDir  string // where leases persist ("" keeps them in memory)
	// Leases, when set, is where the pool leases start from and are saved
	// to instead of StateDir (day-2: the replicated state); see leasesync.go.
	Leases LeaseStore
	Port   int // default 67
	// Rate and Burst bound the packets answered per MAC; default 4/s, 12.
	Rate       float64
	Burst      int
	OnState    pxe.StateFunc
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Server answers DHCP for the boot network.
type Server struct {
	cfg    Config
	leases *leases
	limit  *limiter
	log    *slog.Logger
	m      *prometheus.CounterVec
}

// New checks cfg and loads the persisted leases.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Mode != ModeFull && cfg.Mode != ModeProxy:
		return nil, fmt.Errorf("dhcp: mode %q: want full or proxy", cfg.Mode)
	case !cfg.ServerIP.Is4() || !cfg.Subnet.IsValid() || !cfg.Subnet.Contains(cfg.ServerIP):
		return nil, fmt.Errorf("dhcp: server address %s is not an IPv4 address inside subnet %s; check network.address", cfg.ServerIP, cfg.Subnet)
	case cfg.Inventory == nil:
		return nil, errors.New("dhcp: no inventory")
	}
	if cfg.LeaseTime == 0 {
		cfg.LeaseTime = time.Hour
	}
	if cfg.Port == 0 {
		cfg.Port = dhcpv4.ServerPort
	}
	if cfg.Rate == 0 {
		cfg.Rate, cfg.Burst = 4, 12
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnState == nil {
		cfg.OnState = func(_, _, _, _ string) {}
	}
	s := &Server{cfg: cfg, limit: newLimiter(cfg.Rate, cfg.Burst), log: cfg.Logger.With("service", "dhcp", "mode", cfg.Mode),
		m: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vela_pxe_dhcp_packets_total", Help: "DHCP requests by message type and outcome."}, []string{"type", "result"})}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(s.m); err != nil {
			return nil, err
		}
	}
	first, last := cfg.PoolFirst, cfg.PoolLast
	if cfg.Mode == ModeProxy {
		first, last = netip.Addr{}, netip.Addr{}
	}
	var err error
	stateDir := cfg.StateDir
	if cfg.Leases != nil {
		stateDir = "" // the store is the truth: leases.json is not read (nor written)
	}
	if s.leases, err = newLeases(first, last, stateDir); err != nil {
		return nil, err
	}
	if err := s.loadFromStore(); err != nil {
		return nil, err
	}
	return s, nil
}

// LeaseIP returns the address bound to mac, for the HTTP server's check.
// A known machine's reservation counts as its lease.
func (s *Server) LeaseIP(mac string) (netip.Addr, bool) {
	if a, ok := s.leases.lookup(mac, s.cfg.Now()); ok {
		return a, true
	}
	if s.cfg.Mode != ModeFull {
		return netip.Addr{}, false
	}
	m, err := s.cfg.Inventory.Lookup(context.Background(), pxe.Client{MAC: mac})
	if err == nil && m.Address.IsValid() {
		return m.Address, true
	}
	return netip.Addr{}, false
}

// MACOf returns the MAC holding ip (a pool lease or a known reservation).
func (s *Server) MACOf(ip netip.Addr) (string, bool) {
	return s.leases.macOf(ip)
}

// Handle answers one request that arrived on port (67 or 4011); nil means
// no reply. It is safe for concurrent use.
func (s *Server) Handle(ctx context.Context, req *dhcpv4.DHCPv4, port int) *dhcpv4.DHCPv4 {
	mt := req.MessageType()
	reply, result := s.handle(ctx, req, port)
	s.m.WithLabelValues(mt.String(), result).Inc()
	return reply
}

func (s *Server) handle(ctx context.Context, req *dhcpv4.DHCPv4, port int) (*dhcpv4.DHCPv4, string) {
	if req.OpCode != dhcpv4.OpcodeBootRequest || req.HWType != 1 || len(req.ClientHWAddr) != 6 {
		return nil, "ignored"
	}
	mac := req.ClientHWAddr.String()
	now := s.cfg.Now()
	if !s.limit.allow(mac, now) {
		return nil, "rate-limited"
	}
	stage := DetectStage(req)
	c := pxe.Client{MAC: mac, UUID: MachineUUID(req), Arch: Arch(req)}
	m, err := s.cfg.Inventory.Lookup(ctx, c)
	known := err == nil
	if err != nil && !errors.Is(err, pxe.ErrUnknown) {
		s.log.Error("inventory lookup failed", "mac", mac, "err", err)
		return nil, "error"
	}
	log := s.log.With("mac", mac, "machine", m.Name, "stage", stage.String(), "arch", c.Arch, "xid", req.TransactionID.String())
	if !known && stage != StageOS {
		if err := s.cfg.Inventory.Discover(ctx, c); err != nil {
			log.Warn("recording a discovered machine failed", "err", err)
		}
	}
	if s.cfg.Mode == ModeProxy || port == ProxyPort {
		return s.proxy(req, m, known, stage, log)
	}
	mt := req.MessageType()
	switch mt {
	case dhcpv4.MessageTypeDiscover:
		ip, err := s.address(m, known, req, now)
		if err != nil {
			log.Warn("no address to offer", "err", err)
			return nil, "exhausted"
		}
		if known && stage != StageOS {
			s.cfg.OnState(m.Name, mac, pxe.StatePXERequested, stage.String()+" "+c.Arch)
		}
		log.Info("dhcp offer", "ip", ip)
		return s.reply(req, dhcpv4.MessageTypeOffer, ip, m, known, stage), "offer"
	case dhcpv4.MessageTypeRequest:
		return s.request(req, m, known, stage, now, log)
	case dhcpv4.MessageTypeRelease:
		s.leases.release(mac, addr(req.ClientIPAddr))
		return nil, "released"
	case dhcpv4.MessageTypeDecline:
		s.leases.decline(mac, addr(req.RequestedIPAddress()), now.Add(s.cfg.LeaseTime))
		log.Warn("client declined its address: in use by someone else", "ip", req.RequestedIPAddress())
		return nil, "declined"
	case dhcpv4.MessageTypeInform:
		return s.reply(req, dhcpv4.MessageTypeAck, netip.Addr{}, m, known, stage), "ack"
	}
	return nil, "ignored"
}

// address is the reservation of a known machine, else a pool address.
func (s *Server) address(m pxe.Machine, known bool, req *dhcpv4.DHCPv4, now time.Time) (netip.Addr, error) {
	if known && m.Address.IsValid() {
		return m.Address, nil
	}
	return s.leases.offer(req.ClientHWAddr.String(), known, addr(req.RequestedIPAddress()), now)
}

func (s *Server) request(req *dhcpv4.DHCPv4, m pxe.Machine, known bool, stage Stage, now time.Time, log *slog.Logger) (*dhcpv4.DHCPv4, string) {
	if sid := addr(req.ServerIdentifier()); sid.IsValid() && sid != s.cfg.ServerIP {
		return nil, "other-server" // the client chose another server's offer
	}
	want := addr(req.RequestedIPAddress())
	if !want.IsValid() {
		want = addr(req.ClientIPAddr) // renewing or rebinding
	}
	ok := want.IsValid()
	if ok && known && m.Address.IsValid() {
		ok = want == m.Address
	} else if ok {
		ok = s.leases.bind(req.ClientHWAddr.String(), want, known, now, s.cfg.LeaseTime)
	}
	if !ok {
		log.Info("dhcp nak", "requested", want)
		return s.nak(req), "nak"
	}
	log.Info("dhcp ack", "ip", want)
	return s.reply(req, dhcpv4.MessageTypeAck, want, m, known, stage), "ack"
}

func (s *Server) nak(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	r, err := dhcpv4.NewReplyFromRequest(req, dhcpv4.WithMessageType(dhcpv4.MessageTypeNak),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.cfg.ServerIP.AsSlice())))
	if err != nil {
		return nil
	}
	r.SetBroadcast()
	return r
}

// reply builds an OFFER or ACK for ip (invalid: INFORM) with the boot options
// of the client's stage.
func (s *Server) reply(req *dhcpv4.DHCPv4, mt dhcpv4.MessageType, ip netip.Addr, m pxe.Machine, known bool, stage Stage) *dhcpv4.DHCPv4 {
	r, err := dhcpv4.NewReplyFromRequest(req,
		dhcpv4.WithMessageType(mt),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.cfg.ServerIP.AsSlice())),
		dhcpv4.WithNetmask(net.CIDRMask(s.cfg.Subnet.Bits(), 32)),
	)
	if err != nil {
		return nil
	}
	if ip.IsValid() {
		r.YourIPAddr = ip.AsSlice()
		r.UpdateOption(dhcpv4.OptIPAddressLeaseTime(s.cfg.LeaseTime))
	}
	if s.cfg.Router.IsValid() {
		r.UpdateOption(dhcpv4.OptRouter(s.cfg.Router.AsSlice()))
	}
	if len(s.cfg.DNS) > 0 {
		var dns []net.IP
		for _, a := range s.cfg.DNS {
			dns = append(dns, a.AsSlice())
		}
		r.UpdateOption(dhcpv4.OptDNS(dns...))
	}
	if known && m.Name != "" {
		r.UpdateOption(dhcpv4.OptHostName(m.Name))
	}
	s.bootOptions(r, req, stage)
	return r
}

// bootOptions adds what the stage boots next; false if nothing.
func (s *Server) bootOptions(r, req *dhcpv4.DHCPv4, stage Stage) bool {
	var file string
	switch stage {
	case StageFirmware:
		file = FirmwareFile(req)
		if file == "" {
			s.log.Warn("no iPXE binary for this client architecture; it will not network-boot", "mac", req.ClientHWAddr.String(), "arch", Arch(req))
			return false
		}
		r.UpdateOption(dhcpv4.OptTFTPServerName(s.cfg.ServerIP.String()))
	case StageIPXE:
		file = fmt.Sprintf("%s/boot.ipxe?mac=%s", s.cfg.HTTPBase, req.ClientHWAddr)
	default:
		return false
	}
	r.ServerIPAddr = s.cfg.ServerIP.AsSlice()
	r.BootFileName = file
	r.UpdateOption(dhcpv4.OptBootFileName(file))
	// iPXE waits ~3 s for a proxyDHCP offer unless the reply says
	// PXEClient. Firmware must not see it in a full-mode offer: UEFI (EDK2)
	// then takes the offer for a BINL one and asks port 4011 for the file.
	if stage == StageIPXE || s.cfg.Mode == ModeProxy {
		r.UpdateOption(dhcpv4.OptClassIdentifier("PXEClient"))
	}
	return true
}

// proxy answers PXE clients beside another DHCP server: boot options only,
// never an address, and nothing for unknown machines (they may belong to
// another boot service on the same network).
func (s *Server) proxy(req *dhcpv4.DHCPv4, m pxe.Machine, known bool, stage Stage, log *slog.Logger) (*dhcpv4.DHCPv4, string) {
	if stage == StageOS {
		return nil, "ignored"
	}
	if !known {
		log.Info("proxy: unknown machine recorded, not answered")
		return nil, "unknown"
	}
	var mt dhcpv4.MessageType
	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		mt = dhcpv4.MessageTypeOffer
		s.cfg.OnState(m.Name, req.ClientHWAddr.String(), pxe.StatePXERequested, stage.String()+" "+Arch(req))
	case dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeInform:
		mt = dhcpv4.MessageTypeAck
	default:
		return nil, "ignored"
	}
	r, err := dhcpv4.NewReplyFromRequest(req, dhcpv4.WithMessageType(mt),
		dhcpv4.WithServerIP(s.cfg.ServerIP.AsSlice()),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.cfg.ServerIP.AsSlice())))
	if err != nil {
		return nil, "error"
	}
	r.YourIPAddr = net.IPv4zero
	if !s.bootOptions(r, req, stage) {
		return nil, "unsupported-arch"
	}
	r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, pxeVendorOptions))
	if uuid := req.Options.Get(dhcpv4.OptionClientMachineIdentifier); uuid != nil {
		r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionClientMachineIdentifier, uuid))
	}
	log.Info("proxy boot options", "file", r.BootFileName)
	return r, "proxy-" + mt.String()
}

func addr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	a = a.Unmap()
	if a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}
