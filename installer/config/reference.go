package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Reference returns the Markdown reference of every field of the install
// config, from the same struct tags as the JSON Schema; docs/install-config.md
// is this text (a test keeps them equal).
func Reference() string {
	var b strings.Builder
	b.WriteString("# Install config reference (schema version 1)\n\n")
	b.WriteString("Generated from the Go types by `go test ./installer/config -update`; do not edit by hand.\n")
	b.WriteString("Unknown keys are errors. `vela config example` shows every section with comments.\n\n")
	b.WriteString("| field | type | description |\n| --- | --- | --- |\n")
	refFields(&b, reflect.TypeOf(Config{}), "")
	return b.String()
}

func refFields(b *strings.Builder, t reflect.Type, prefix string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		path := prefix + name
		ft, list := f.Type, ""
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice {
			ft, list = ft.Elem(), "list of "
		}
		required, enum := schemaTag(f.Tag.Get("jsonschema"))
		desc := f.Tag.Get("jsonschema_description")
		typ := list + typeName(ft)
		if len(enum) > 0 {
			typ += " (" + strings.Join(enum, ", ") + ")"
		}
		if required {
			desc = "**Required.** " + desc
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", path, typ, desc)
		if ft.Kind() == reflect.Struct {
			sub := path + "."
			if list != "" {
				sub = path + "[]."
			}
			refFields(b, ft, sub)
		}
	}
}

func typeName(t reflect.Type) string {
	switch t {
	case reflect.TypeOf(Duration(0)):
		return "duration"
	case reflect.TypeOf(ByteSize(0)):
		return "size"
	}
	switch t.Kind() {
	case reflect.Struct:
		return "mapping"
	case reflect.Int:
		return "integer"
	default:
		return t.Kind().String()
	}
}

// schemaTag reads required and enum values from a jsonschema tag.
func schemaTag(tag string) (required bool, enum []string) {
	for _, part := range strings.Split(tag, ",") {
		switch {
		case part == "required":
			required = true
		case strings.HasPrefix(part, "enum="):
			enum = append(enum, strings.TrimPrefix(part, "enum="))
		}
	}
	return required, enum
}
