package faults

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The checker must reject what the harness is there to catch.
func TestCheckerVerdicts(t *testing.T) {
	tests := []struct {
		name string
		add  func(h *History)
		want porcupine.CheckResult
	}{
		{"stale read after an acknowledged put", func(h *History) {
			h.Add(0, Input{Put: true, Key: "k", Value: "a"}, Output{}, 0, 10)
			h.Add(1, Input{Key: "k"}, Output{Value: ""}, 20, 30)
		}, porcupine.Illegal},
		{"read concurrent with the put", func(h *History) {
			h.Add(0, Input{Put: true, Key: "k", Value: "a"}, Output{}, 0, 10)
			h.Add(1, Input{Key: "k"}, Output{Value: ""}, 5, 30)
		}, porcupine.Ok},
		{"unknown put may apply later", func(h *History) {
			h.AddUnknown(0, Input{Put: true, Key: "k", Value: "a"}, 0)
			h.Add(1, Input{Key: "k"}, Output{Value: ""}, 20, 30)
			h.Add(1, Input{Key: "k"}, Output{Value: "a"}, 40, 50)
		}, porcupine.Ok},
		{"value going back", func(h *History) {
			h.Add(0, Input{Put: true, Key: "k", Value: "a"}, Output{}, 0, 10)
			h.Add(0, Input{Put: true, Key: "k", Value: "b"}, Output{}, 20, 30)
			h.Add(1, Input{Key: "k"}, Output{Value: "b"}, 40, 50)
			h.Add(1, Input{Key: "k"}, Output{Value: "a"}, 60, 70)
		}, porcupine.Illegal},
		{"keys are independent", func(h *History) {
			h.Add(0, Input{Put: true, Key: "k", Value: "a"}, Output{}, 0, 10)
			h.Add(1, Input{Key: "j"}, Output{Value: ""}, 20, 30)
		}, porcupine.Ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistory()
			tt.add(h)
			got, err := h.Check(10*time.Second, "")
			if err != nil || got != tt.want {
				t.Fatalf("got %s (%v), want %s", got, err, tt.want)
			}
			if bad := h.IllegalKeys(time.Second); (len(bad) > 0) != (tt.want == porcupine.Illegal) {
				t.Fatalf("IllegalKeys: %v", bad)
			}
		})
	}
}
