package steps

import (
	"testing"
	"time"
)

func TestBootWatch(t *testing.T) {
	w := newBootWatch()
	_, _, next := w.get("a")
	w.set("a", "kernel-fetched", "")
	select {
	case <-next:
	case <-time.After(time.Second):
		t.Fatal("waiter not woken by a state change")
	}
	if st, _, _ := w.get("a"); st != "kernel-fetched" {
		t.Errorf("state %q", st)
	}
	// Unknown MACs are reported once each, and only the first few.
	if _, first := w.unknownMAC("x"); !first {
		t.Error("first sighting not reported")
	}
	if _, first := w.unknownMAC("x"); first {
		t.Error("second sighting reported")
	}
	reported := 1
	for i := 0; i < 100; i++ {
		if n, first := w.unknownMAC(string(rune('A' + i))); first && n <= maxUnknownReported {
			reported++
		}
	}
	if reported != maxUnknownReported {
		t.Errorf("reported %d unknown MACs, want %d", reported, maxUnknownReported)
	}
}
