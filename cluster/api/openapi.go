package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/invopop/jsonschema"
)

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// OpenAPI builds the OpenAPI 3.1 document from the route table, so the
// document cannot drift from the routes.
func (s *Server) OpenAPI() map[string]any {
	ref := &jsonschema.Reflector{DoNotReference: true, AllowAdditionalProperties: false, ExpandedStruct: true}
	schema := func(v any) any {
		switch v.(type) {
		case nil:
			return nil
		case string:
			return map[string]any{"type": "string"}
		}
		sc := ref.Reflect(v)
		sc.Version = ""
		return sc
	}
	paths := map[string]map[string]any{}
	for _, rt := range s.routes() {
		op := map[string]any{"summary": rt.Summary}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if rt.Place == consistent {
			params = append(params, map[string]any{"name": "stale", "in": "query", "description": "true: answer from this member's state without a read barrier (may be stale)", "schema": map[string]any{"type": "boolean"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Auth != nil {
			op["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"mtls": []any{}}}
			op["x-vela-allowed"] = []string(rt.Auth)
		}
		if sc := schema(rt.Request); sc != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": sc}}}
		}
		ok := map[string]any{"description": "OK"}
		if sc := schema(rt.Response); sc != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": sc}}
		}
		op["responses"] = map[string]any{
			"200":     ok,
			"default": map[string]any{"description": "Error: {\"error\": message, \"field\": the request field at fault}", "content": map[string]any{"application/json": map[string]any{"schema": schema(apiError{})}}},
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Vela control plane API", "version": "v1", "description": "Writes go to the Raft leader (followers forward); reads are linearizable unless ?stale=true. Bodies are JSON, at most 1 MiB."},
		"paths":   paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"bearer": map[string]any{"type": "http", "scheme": "bearer"},
			"mtls":   map[string]any{"type": "mutualTLS", "description": "A member or agent certificate of the cluster CA."},
		}},
	}
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(s.OpenAPI())
}
