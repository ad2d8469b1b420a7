package steps

import (
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/run"
)

// Env is what executors share: the config and where things go on the seed.
type Env struct {
	Config   *config.Config
	BaseDir  string // directory of the config file
	StateDir string // progress, secrets, rendered configs (0700)
	ImageDir string // boot artifacts
}

// Executors returns the executors this build has, by kind.
func Executors(env *Env) run.Executors {
	ex := run.Executors{}
	return ex
}
