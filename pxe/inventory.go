package pxe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// ErrUnknown is returned by Inventory.Lookup for a machine it does not know.
var ErrUnknown = errors.New("unknown machine")

// Machine is what the boot servers need to know about one known machine.
type Machine struct {
	Name string
	MAC  string // canonical lowercase colon form, "" when known by UUID only
	UUID string // lowercase, "" when known by MAC only
	// Address is the static IPv4 reservation; invalid when it takes a lease.
	Address netip.Addr
	// Image is what it boots: vela-os, fcos or custom.
	Image string
	// KernelArgs are extra kernel arguments (os.kernel_args).
	KernelArgs string
	// Disk is the install disk ("" runs live from RAM).
	Disk string
	// Installed tells that the OS is on Disk already: boot from disk.
	Installed bool
	// BootToken, when set, is the machine's boot token kept by the
	// inventory (the control plane's); "" lets the boot server keep one.
	BootToken string
}

// Client is what a boot request tells about the machine sending it.
type Client struct {
	MAC  string // canonical form
	UUID string // lowercase, may be ""
	Arch string // e.g. "bios", "x86_64-efi", may be ""
	IP   string // may be ""
}

// Discovered is a machine that booted but is not in the inventory.
type Discovered struct {
	MAC       string    `json:"mac"`
	UUID      string    `json:"uuid,omitempty"`
	Arch      string    `json:"arch,omitempty"`
	IP        string    `json:"ip,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// SortDiscovered lists discovered machines first seen first (then by MAC).
func SortDiscovered(m map[string]Discovered) []Discovered {
	out := make([]Discovered, 0, len(m))
	for _, d := range m {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].MAC < out[j].MAC
	})
	return out
}

// Inventory tells the boot servers which machine a request comes from and
// what it boots. During install it is backed by the config; later by the
// control plane.
type Inventory interface {
	// Lookup finds the machine by MAC, then by UUID; ErrUnknown if neither.
	Lookup(ctx context.Context, c Client) (Machine, error)
	// Discover records an unknown machine (first seen kept, the rest updated).
	Discover(ctx context.Context, c Client) error
	// MarkInstalled records that the machine's OS is on its disk now.
	MarkInstalled(ctx context.Context, name string) error
}

// Boot states of a machine, in order; StateFailed may come at any point.
const (
	StatePXERequested  = "pxe-requested"
	StateIPXELoaded    = "ipxe-loaded"
	StateKernelFetched = "kernel-fetched"
	StateConfigFetched = "config-fetched"
	StateReported      = "reported"
	StateFailed        = "failed"
)

// StateFunc receives machine boot state transitions. machine is "" for an
// unknown machine. It must not block for long.
type StateFunc func(machine, mac, state, detail string)

// NormalizeMAC returns the lowercase colon form of a MAC written with colons
// or hyphens (iPXE's ${mac:hexhyp}), or "" if s is not a 6-byte MAC.
func NormalizeMAC(s string) string {
	hw, err := net.ParseMAC(strings.ReplaceAll(strings.TrimSpace(s), "-", ":"))
	if err != nil || len(hw) != 6 {
		return ""
	}
	return hw.String()
}
