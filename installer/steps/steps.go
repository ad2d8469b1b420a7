package steps

import (
	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/plan"
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
	if env.Config.Lab != nil {
		ex[plan.LabNetwork] = env.labNetwork
		ex[plan.LabVMs] = env.labVMs
	}
	return ex
}
