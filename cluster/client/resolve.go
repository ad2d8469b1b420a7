package client

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Environment variables read when the matching flag is empty.
const (
	EnvURL    = "VELA_URL"    // https://IP:8443 or IP:8443
	EnvServer = "VELA_SERVER" // older spelling of VELA_URL, still read
	EnvToken  = "VELA_TOKEN"  // the token itself
	EnvCA     = "VELA_CA"     // path of the cluster CA certificate
)

// Flags are the client's command-line values ("" when not given).
type Flags struct {
	Server    string // --server
	TokenFile string // --token-file
	CAFile    string // --ca-file
	Profile   string // --profile
}

// Resolve fills a Config from flag values, then the environment, then the
// stored defaults; see ResolveFlags.
func Resolve(server, tokenFile, caFile string) (Config, error) {
	return ResolveFlags(Flags{Server: server, TokenFile: tokenFile, CAFile: caFile})
}

// ResolveFlags fills a Config field by field. For each of server, token
// and CA, the first that is set wins:
//
//  1. the flag (--server, --token-file, --ca-file);
//  2. the environment (VELA_URL or VELA_SERVER, VELA_TOKEN, VELA_CA);
//  3. the stored defaults, taken from exactly one place, the first there is:
//     the profile named by --profile, else by VELA_PROFILE (an error if it
//     does not exist); the context file named by VELA_CONFIG (the
//     installer's); the current profile of ProfilesPath (`vela login`);
//     the context file ~/.vela/config.json (written by older installers).
func ResolveFlags(f Flags) (Config, error) {
	cfg := Config{Server: f.Server, Retry: 10 * time.Second}
	if cfg.Server == "" {
		cfg.Server = firstEnv(EnvURL, EnvServer)
	}
	token, tokenFrom := "", ""
	switch {
	case f.TokenFile != "":
		b, err := os.ReadFile(f.TokenFile)
		if err != nil {
			return cfg, fmt.Errorf("read the token file: %w", err)
		}
		token, tokenFrom = strings.TrimSpace(string(b)), "--token-file"
	case os.Getenv(EnvToken) != "":
		token, tokenFrom = strings.TrimSpace(os.Getenv(EnvToken)), EnvToken
	}
	caFile := f.CAFile
	if caFile == "" {
		caFile = os.Getenv(EnvCA)
	}
	var stored *Profile
	if cfg.Server == "" || tokenFrom == "" || caFile == "" {
		pr, err := storedDefaults(f.Profile)
		if err != nil {
			return cfg, err
		}
		stored = pr
	}
	if stored != nil && cfg.Server == "" {
		cfg.Server = stored.Server
	}
	if cfg.Server == "" {
		return cfg, fmt.Errorf("no server: run `vela login https://IP:8443 --token T --ca-file ca.pem`, pass --server, or set %s", EnvURL)
	}
	if tokenFrom == "" && stored != nil {
		token = stored.Token
	}
	cfg.Token = token
	switch {
	case caFile != "":
		b, err := os.ReadFile(caFile)
		if err != nil {
			return cfg, fmt.Errorf("read the CA certificate: %w", err)
		}
		cfg.CAPEM = b
	case stored != nil:
		b, err := stored.CA()
		if err != nil {
			return cfg, err
		}
		cfg.CAPEM = b
	}
	if len(cfg.CAPEM) == 0 {
		return cfg, fmt.Errorf("no CA certificate for %s: pass --ca-file /etc/vela/ca.pem, set %s, or store it with `vela login`", cfg.Server, EnvCA)
	}
	return cfg, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// storedDefaults picks the one stored place the defaults come from (nil:
// none).
func storedDefaults(profile string) (*Profile, error) {
	if profile == "" {
		profile = os.Getenv(EnvProfile)
	}
	if profile != "" {
		ps, err := LoadProfiles(ProfilesPath())
		if err != nil {
			return nil, err
		}
		return ps.Get(profile)
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return contextProfile(p)
	}
	ps, err := LoadProfiles(ProfilesPath())
	if err != nil {
		return nil, err
	}
	if ps.Current != "" {
		return ps.Get(ps.Current)
	}
	return contextProfile(ContextPath())
}

// contextProfile reads a context file as a profile (nil: no file).
func contextProfile(path string) (*Profile, error) {
	cx, ok, err := LoadContext(path)
	if err != nil || !ok {
		return nil, err
	}
	pr := &Profile{Server: cx.Server, CAFile: cx.CAFile}
	if cx.TokenFile != "" {
		b, err := os.ReadFile(cx.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("the vela context %s: read its token file: %w", path, err)
		}
		pr.Token = strings.TrimSpace(string(b))
	}
	return pr, nil
}

// HasServer tells whether f, the environment or the stored defaults name a
// server. A damaged profile file counts as naming one, so that using it
// reports the damage.
func HasServer(f Flags) bool {
	if f.Server != "" || firstEnv(EnvURL, EnvServer) != "" {
		return true
	}
	pr, err := storedDefaults(f.Profile)
	return err != nil || (pr != nil && pr.Server != "")
}
