package faults

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Input is one register operation on a key.
type Input struct {
	Put   bool
	Key   string
	Value string
}

// Output is what a get returned.
type Output struct {
	Value string
}

// History records operations with invoke and return times (monotonic
// nanoseconds since the history began).
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

// NewHistory starts a history now.
func NewHistory() *History { return &History{start: time.Now()} }

// Now is the history's clock.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// Add records a completed operation.
func (h *History) Add(client int, in Input, out Output, call, ret int64) {
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
	h.mu.Unlock()
}

// AddUnknown records a put whose outcome is unknown (timeout, connection
// lost, 503 after proposing): it may take effect at any time after call.
func (h *History) AddUnknown(client int, in Input, call int64) {
	h.Add(client, in, Output{}, call, math.MaxInt64/2)
}

// Len is the number of recorded operations.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops)
}

// RegisterModel is a map of independent registers (one per key), checked
// per key.
var RegisterModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(Input).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(Input)
		if in.Put {
			return true, in.Value
		}
		return output.(Output).Value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(Input)
		if in.Put {
			return fmt.Sprintf("put(%s, %q)", in.Key, in.Value)
		}
		return fmt.Sprintf("get(%s) -> %q", in.Key, output.(Output).Value)
	},
}

// Check runs porcupine over the history; on a violation it writes an HTML
// visualisation to vizPath (if set).
func (h *History) Check(timeout time.Duration, vizPath string) (porcupine.CheckResult, error) {
	h.mu.Lock()
	ops := append([]porcupine.Operation(nil), h.ops...)
	h.mu.Unlock()
	res, info := porcupine.CheckOperationsVerbose(RegisterModel, ops, timeout)
	if res == porcupine.Illegal && vizPath != "" {
		if err := porcupine.VisualizePath(RegisterModel, info, vizPath); err != nil {
			return res, err
		}
	}
	return res, nil
}

// IllegalKeys checks each key alone and describes the operations of the
// keys whose history is not linearizable (for failure reports).
func (h *History) IllegalKeys(timeout time.Duration) []string {
	h.mu.Lock()
	ops := append([]porcupine.Operation(nil), h.ops...)
	h.mu.Unlock()
	var out []string
	for _, part := range RegisterModel.Partition(ops) {
		if porcupine.CheckOperationsTimeout(RegisterModel, part, timeout) != porcupine.Illegal {
			continue
		}
		sort.Slice(part, func(i, j int) bool { return part[i].Call < part[j].Call })
		var b strings.Builder
		fmt.Fprintf(&b, "key %s:\n", part[0].Input.(Input).Key)
		for _, op := range part {
			ret := "?"
			if op.Return < 1<<61 {
				ret = fmt.Sprint(time.Duration(op.Return))
			}
			fmt.Fprintf(&b, "  client %d [%s, %s] %s\n", op.ClientId, time.Duration(op.Call), ret, RegisterModel.DescribeOperation(op.Input, op.Output))
		}
		out = append(out, b.String())
	}
	return out
}
