package ignition

import (
	"testing"

	ign "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/coreos/ignition/v2/config/v3_5/types"
)

func parse(t testing.TB, rendered []byte) types.Config {
	t.Helper()
	c, rpt, err := ign.Parse(rendered)
	if err != nil || len(rpt.Entries) > 0 {
		t.Fatalf("rendered config does not parse: %v %s", err, rpt)
	}
	return c
}
