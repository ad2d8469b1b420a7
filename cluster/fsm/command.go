package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Type is the first byte of every Raft log entry Vela writes. Types are
// appended at the end of this list and never renumbered or reused.
type Type uint8

// Command types. Append only.
const (
	TypeClusterInit      Type = 1
	TypeMemberUpsert     Type = 2
	TypeMemberDelete     Type = 3
	TypeMachineUpsert    Type = 4
	TypeMachineDelete    Type = 5
	TypeHypervisorUpsert Type = 6
	TypeHypervisorDelete Type = 7
	TypeTenantUpsert     Type = 8
	TypeTenantDelete     Type = 9
	TypeAPITokenUpsert   Type = 10
	TypeAPITokenDelete   Type = 11
	TypeClusterUpsert    Type = 12
	TypeClusterDelete    Type = 13
	TypeNodeUpsert       Type = 14
	TypeNodeDelete       Type = 15
	TypeJoinTokenCreate  Type = 16
	TypeJoinTokenConsume Type = 17
	TypeSubnetUpsert     Type = 18
	TypeSubnetDelete     Type = 19
	TypeClusterStatus    Type = 20
	TypeNodeStatus       Type = 21
	TypeHypervisorReport Type = 22
	// Day-2 boot (pxe/cpinventory): the stored install config, machines
	// seen on the boot network, forgetting one.
	TypeInstallConfigPut  Type = 23
	TypeMachineDiscovered Type = 24
	TypeDiscoveredDelete  Type = 25
	// TypeAutoscaleNote records an autoscaler verdict on a cluster as an
	// event with its figures (cluster/autoscale); see AutoscaleNote.
	// Proposed with IgnoreUnknown: a member that predates it may skip it.
	TypeAutoscaleNote Type = 26
	// TypeBootLeases saves day-2 DHCP pool leases (pxe/dhcp, through
	// pxe/cpinventory) so the next leader keeps them; see BootLeases.
	// Proposed with IgnoreUnknown: a member that predates it may skip it.
	TypeBootLeases Type = 27
)

// IgnoreUnknown is set on a type byte by a newer member for commands that an
// older member may skip safely. A type without it that a member does not
// know stops that member (it must be upgraded) rather than diverge.
const IgnoreUnknown Type = 0x80

// Meta is stamped on every command by the proposer: who, and when (the
// leader's clock, read before proposing; Apply never reads a clock).
type Meta struct {
	Actor string    `json:"actor"`
	Time  time.Time `json:"time"`
}

// Upsert is the body of every *Upsert command.
type Upsert[T any] struct {
	Meta
	Object T `json:"object"`
}

// Delete is the body of every *Delete command.
type Delete struct {
	Meta
	Key string `json:"key"`
}

// ConsumeJoinToken is the body of TypeJoinTokenConsume: the hash of the
// presented secret, who presents it, and the (proposer's) time of use.
type ConsumeJoinToken struct {
	Meta
	Hash string `json:"hash"`
	By   string `json:"by"`
	// RetryWindow lets the same joiner (By) use the token again for this
	// long after its first use, so a join whose answer was lost (a timeout,
	// leadership moving mid-request) can be retried. Zero (older entries):
	// strictly single use.
	RetryWindow time.Duration `json:"retry_window,omitempty"`
}

// JoinRetryWindow is how long a joiner may retry with its used token.
const JoinRetryWindow = 10 * time.Minute

// Encode builds a log entry: the type byte followed by the JSON body.
func Encode(t Type, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode command type %d: %w", t, err)
	}
	return append([]byte{byte(t)}, b...), nil
}

// Errors returned by Apply (as the Result's Err) for commands that are valid
// log entries but refused by the state.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrQuota        = errors.New("quota exceeded")
	ErrTokenInvalid = errors.New("join token invalid")
)
