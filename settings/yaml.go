package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/portico-dev/portico/apperr"
)

// ParseYAML reads a variables.yaml: a map under "Variables" (or at the top) whose keys
// are variable names, possibly nested by the dots of the name (Portal: {Announcement: …}).
// Plain values are scalars; JSON values may be written as a JSON string or as YAML.
func ParseYAML(text []byte) (map[string]string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, apperr.BadInput("variables.yaml: %s", yaml.FormatError(err, false, true))
	}
	if vars, ok := doc["Variables"].(map[string]any); ok && len(doc) == 1 {
		doc = vars
	}
	out := map[string]string{}
	var walk func(prefix string, m map[string]any) error
	walk = func(prefix string, m map[string]any) error {
		for k, v := range m {
			name := strings.TrimPrefix(prefix+"."+k, ".")
			def, known := Lookup(name)
			if !known {
				sub, ok := v.(map[string]any)
				if !ok {
					return apperr.BadInput("variables.yaml: unknown variable %q; known: %s", name, knownNames())
				}
				if err := walk(name, sub); err != nil {
					return err
				}
				continue
			}
			value, err := yamlValue(def, v)
			if err != nil {
				return apperr.BadInput("variables.yaml: variable %s: %v", name, err)
			}
			if err := def.Check(value); err != nil {
				return apperr.BadInput("variables.yaml: %v", err)
			}
			out[name] = value
		}
		return nil
	}
	if err := walk("", doc); err != nil {
		return nil, err
	}
	return out, nil
}

func yamlValue(def Definition, v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	}
	if def.Kind == JSON {
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return fmt.Sprint(v), nil
}

// Import sets every variable of a variables.yaml in one transaction.
func (s *Service) Import(ctx context.Context, text []byte) ([]string, error) {
	values, err := ParseYAML(text)
	if err != nil {
		return nil, err
	}
	if err := s.Set(ctx, values); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	return names, nil
}
