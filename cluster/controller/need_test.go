package controller

import (
	"testing"

	"github.com/vela-appliance/vela/cluster/swarm/swarmtest"
)

func needSwarm(t testing.TB) { swarmtest.Need(t) }
