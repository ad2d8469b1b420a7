package ignition

import (
	"fmt"
	json "github.com/clarketm/json"

	ign "github.com/coreos/ignition/v2/config/v3_5"
)

// Redacted replaces a secret's contents in a redacted config.
const Redacted = "data:,REDACTED"

// secretFiles are the files of a rendered config whose contents are secret.
var secretFiles = map[string]bool{TokenPath: true, AgentTokenPath: true}

// Redact returns a copy of a rendered config with the contents of every
// secret file (the join and agent tokens) replaced by Redacted, for display.
func Redact(rendered []byte) ([]byte, error) {
	cfg, _, err := ign.Parse(rendered)
	if err != nil {
		return nil, fmt.Errorf("redacting: the config does not parse: %v", err)
	}
	for i, f := range cfg.Storage.Files {
		if secretFiles[f.Path] {
			s := Redacted
			cfg.Storage.Files[i].Contents.Source = &s
			if cfg.Storage.Files[i].Contents.Compression != nil {
				none := ""
				cfg.Storage.Files[i].Contents.Compression = &none
			}
			cfg.Storage.Files[i].Contents.Verification.Hash = nil
		}
	}
	return json.Marshal(cfg)
}
