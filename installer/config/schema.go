package config

import (
	"encoding/json"

	"github.com/invopop/jsonschema"
)

// JSONSchema returns a JSON Schema (draft 2020-12) of the install config for
// editors. It describes shapes and enums; Validate stays the authority.
func JSONSchema() ([]byte, error) {
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		DoNotReference:             true,
		AllowAdditionalProperties:  false,
		RequiredFromJSONSchemaTags: true,
	}
	s := r.Reflect(&Config{})
	s.ID = "https://vela.dev/schema/install-config-v1.json"
	s.Title = "Vela install config, schema version 1"
	return json.MarshalIndent(s, "", "  ")
}
