package graph

import (
	"io"
	"strings"

	"github.com/portico-dev/portico/graph/model"
)

// Converters from GraphQL input shapes to what the domain packages take.

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func properties(in []*model.PropertyInput) map[string]string {
	if in == nil {
		return nil
	}
	m := make(map[string]string, len(in))
	for _, p := range in {
		m[p.Key] = p.Value
	}
	return m
}

func reader(s *string) io.Reader {
	if s == nil {
		return nil
	}
	return strings.NewReader(*s)
}
