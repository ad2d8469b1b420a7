package steps

import (
	"log/slog"
	"os"
	"time"

	"github.com/vela-appliance/vela/installer/config"
	"github.com/vela-appliance/vela/installer/plan"
	"github.com/vela-appliance/vela/installer/run"
)

// Env is what executors share: the config and where things go on the seed.
type Env struct {
	Config   *config.Config
	BaseDir  string // directory of the config file
	StateDir string // progress, secrets, rendered configs (0700)
	ImageDir string // boot artifacts (the image store)
	// ImageCache is the image build cache (default images.DefaultCacheDir).
	ImageCache string
	// ContextPath is where handover writes the operator's vela context
	// (default client.ContextPath(): $VELA_CONFIG or ~/.vela/config.json).
	ContextPath string
	// VelaBinary is the vela served to machines (default: this executable).
	VelaBinary string
	Logger     *slog.Logger
	Now        func() time.Time

	boot *bootWatch
}

// Executors returns the executors this build has, by kind.
func Executors(env *Env) run.Executors {
	env.boot = newBootWatch()
	ex := run.Executors{
		plan.Images:        env.prepareImages,
		plan.Secrets:       env.secrets,
		plan.Ignition:      env.renderIgnition,
		plan.BootServices:  env.bootServices,
		plan.MachineBoot:   env.machineBoot,
		plan.Bootstrap:     env.bootstrap,
		plan.Join:          env.join,
		plan.Hypervisor:    env.hypervisor,
		plan.Handover:      env.handover,
		plan.Tenant:        env.tenant,
		plan.TenantCluster: env.tenantCluster,
		plan.Health:        env.health,
	}
	if env.Config.Lab != nil {
		ex[plan.LabNetwork] = env.labNetwork
		ex[plan.LabVMs] = env.labVMs
	}
	return ex
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) velaBinary() string {
	if e.VelaBinary != "" {
		return e.VelaBinary
	}
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
}
